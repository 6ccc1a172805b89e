// npm commands for npmjs.com features this registry does not offer, answered with what to do instead rather than a
// bare 404 that reads like a missing package: npm 11's `npm trust` (trusted publishing from CI through OIDC) and
// `npm stage` (staged publishing), and npm 10's `npm hook` (webhooks). The answer is the same for every caller and package, so it tells nothing about either, and it
// is sent before a body is read: `npm stage publish` posts a whole tarball.
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { fail } from '../errors.ts';

const TRUST =
  'trusted publishing (npm trust) is not available on this registry yet: publish from CI with a token limited to ' +
  'the package, e.g. `npm token create --packages NAME --packages-and-scopes-permission read-write`';
const HOOK =
  'hooks (npm hook) are not available on this registry: follow its changes feed, /-/bulwark/v1/changes, to learn ' +
  'of every publish, dist-tag move, deprecation and unpublish';
const STAGE =
  'staged publishing (npm stage) is not available on this registry: publish with `npm publish` (it asks for a ' +
  'one-time password when your account needs one)';

// npm 11's lib/trust-cmd.js and commands/trust/*.js, commands/stage/*.js and libnpmpublish's stage route; npm 10's
// libnpmhook.
const ROUTES: Array<[HTTPMethods[], string, string]> = [
  [['GET', 'POST'], '/-/package/:name/trust', TRUST],
  [['DELETE'], '/-/package/:name/trust/:id', TRUST],
  [['GET'], '/-/stage', STAGE],
  [['GET', 'DELETE'], '/-/stage/:id', STAGE],
  [['POST'], '/-/stage/:id/approve', STAGE],
  [['GET'], '/-/stage/:id/tarball', STAGE],
  [['POST'], '/-/stage/package/:name', STAGE],
  [['GET'], '/-/npm/v1/hooks', HOOK],
  [['POST'], '/-/npm/v1/hooks/hook', HOOK],
  [['GET', 'PUT', 'DELETE'], '/-/npm/v1/hooks/hook/:id', HOOK],
];

export function register(app: FastifyInstance): void {
  for (const [method, url, message] of ROUTES)
    app.route({
      method,
      url,
      // Refused in the first hook, so neither the gate nor the body parser runs. 405 rather than 501: npm retries
      // 5xx answers, which would only make the user wait for the same sentence.
      onRequest: async (_req, reply) => {
        reply.header('allow', '');
        throw fail('E_NOT_SUPPORTED', message);
      },
      handler: async () => {
        throw fail('E_NOT_SUPPORTED', message);
      },
    });
}
