// Identity routes npm uses: ping, whoami, the legacy CouchDB-style login/adduser that returns a token, and logout.
import type { FastifyInstance } from 'fastify';
import {
  checkPassword,
  createUser,
  findUser,
  mustFindUser,
  recordSignInLocked,
  usernameProblem,
} from '../accounts/users.ts';
import { fail, notFound } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { createToken, revokeTokenBySecret } from '../tokens/service.ts';
import { ANONYMOUS_BODY_LIMIT, type Gate } from './gate.ts';
import { requireOtp, type SecondFactorDeps } from './second-factor.ts';
import { limitedPasswordCheck } from '../accounts/limits.ts';
import { pendingMessage } from '../accounts/signup.ts';
import { NAME_MAX, Str, Type, schema, type RouteTypes } from './schemas.ts';

export type UserRouteDeps = { db: Db; gate: Gate; signup: 'open' | 'closed'; secondFactor: SecondFactorDeps };

const UserParams = Type.Object({ name: Str(NAME_MAX) });
/** What npm login and npm adduser send (npm-profile's loginCouch/adduserCouch; other CouchDB fields are ignored). */
const CouchLoginRoute = schema({
  params: UserParams,
  body: Type.Object({
    name: Type.Optional(Str(NAME_MAX)),
    password: Type.Optional(Type.String()),
    email: Type.Optional(Str(254)),
  }),
});
const UserRoute = schema({ params: UserParams });
const LogoutRoute = schema({ params: Type.Object({ token: Str(512) }) });

export function register(app: FastifyInstance, { db, gate, signup, secondFactor }: UserRouteDeps): void {
  /** npm adduser for a new name. (npm login of an unknown name fails like a wrong password, revealing nothing.) */
  async function signUp(name: string, password: string, email: string) {
    if (signup === 'closed')
      throw fail('E_SIGNUP_CLOSED', 'sign-up is closed on this registry: ask an administrator to create your account');
    return createUser(db, { name, email, password });
  }

  app.get('/-/ping', async () => ({}));

  app.get('/-/whoami', async (req) => {
    return { username: (await gate.caller(req)).name };
  });

  // npm login / npm adduser (auth-type=legacy, and the fallback when web login is unavailable).
  // Anyone may call this, so it reads no more than a sign-in needs.
  app.put<RouteTypes<typeof CouchLoginRoute>>(
    '/-/user/org.couchdb.user:::name',
    { bodyLimit: ANONYMOUS_BODY_LIMIT, schema: CouchLoginRoute },
    async (req, reply) => {
      const body = req.body;
      const name = req.params.name;
      if (body.name !== undefined && body.name !== name)
        throw fail('E_INVALID_REQUEST', 'the user name in the body must match the URL');
      if (!body.password) throw fail('E_ACCOUNT_INVALID', 'a password is required');
      const nameIssue = usernameProblem(name);
      if (nameIssue) throw fail('E_ACCOUNT_INVALID', nameIssue);
      const clientName = String(req.headers['user-agent'] ?? 'npm')
        .split(' ')[0]!
        .slice(0, 64);
      const password = body.password;
      const user =
        !(await findUser(db, name)) && body.email !== undefined
          ? await signUp(name, password, body.email)
          : await limitedPasswordCheck(
              secondFactor.limiter,
              name,
              req.ip,
              () => checkPassword(db, name, password),
              () => recordSignInLocked(db, name, req.ip, secondFactor.clock()),
            );
      if (!user) throw fail('E_BAD_CREDENTIALS', 'incorrect username or password');
      // Said only to someone who knew the password.
      if (user.disabled_at !== null)
        throw fail('E_ACCOUNT_DISABLED', 'this account has been disabled: contact the registry’s administrators');
      if (user.totp_mode !== 'disabled') await requireOtp(secondFactor, req, user.id, 'signing in');
      const { token } = await createToken(db, {
        userId: user.id,
        userName: name,
        name: `login from ${clientName}`,
        kind: 'session',
      });
      // npm shows the user an `npm-notice` header (npm-registry-fetch's check-response.js), not the body's message.
      const pending = user.email_verified
        ? null
        : pendingMessage({ emailVerification: gate.policy.emailVerification ?? 'email' });
      if (pending) reply.header('npm-notice', pending);
      return reply.code(201).send({
        ok: true,
        id: `org.couchdb.user:${name}`,
        token,
        ...(pending ? { message: pending } : {}),
      });
    },
  );

  app.get<RouteTypes<typeof UserRoute>>('/-/user/org.couchdb.user:::name', { schema: UserRoute }, async (req) => {
    await gate.caller(req);
    const user = await mustFindUser(db, req.params.name);
    return { _id: `org.couchdb.user:${user.name}`, name: user.name, email: user.email };
  });

  // npm logout: the token to revoke is in the URL, and holding it is what authorizes revoking it.
  // npm logout sends no body: a large one is refused before it is read.
  app.delete<RouteTypes<typeof LogoutRoute>>(
    '/-/user/token/:token',
    { bodyLimit: ANONYMOUS_BODY_LIMIT, schema: LogoutRoute },
    async (req) => {
      const principal = await gate.principal(req);
      if (!(await revokeTokenBySecret(db, req.params.token, principal)))
        throw notFound('token not found or already revoked');
      return { ok: true };
    },
  );
}
