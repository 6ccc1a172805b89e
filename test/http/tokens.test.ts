// Scoped tokens at the protocol level, on both databases: npm's /-/npm/v1/tokens endpoints (password, second factor,
// list, revoke by key prefix or secret), what a scoped token may publish, CIDR allow-lists with the client bound to
// another loopback address, automation tokens and the second factor, and refusals that all look and time the same.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createOrg } from '../../src/access/orgs.ts';
import { newToken } from '../../src/tokens/format.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { codeAt, enableMfa } from '../helpers/totp.ts';

const PASSWORD = 'correct-horse-battery';
const BAD_TOKEN = /invalid, expired or revoked/;
const error = (res: { json(): unknown }) => (res.json() as { error: string }).error;

/** A request whose connection comes from localAddress (any 127.x.y.z reaches a server on 127.0.0.1 on Linux). */
function requestFrom(
  url: string,
  localAddress: string,
  method: string,
  token: string,
  payload?: unknown,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const data = payload === undefined ? undefined : JSON.stringify(payload);
    const req = http.request(
      url,
      {
        method,
        localAddress,
        headers: { authorization: `Bearer ${token}`, ...(data ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

for (const kind of DB_KINDS) {
  describe(`scoped tokens through npm's token endpoints (${kind})`, () => {
    let r: TestRegistry;
    // The registry's clock, moved past each one-time code used so no code is refused as a replay.
    let now = Date.now();
    let erin: { id: number; token: string };
    const make = async (payload: Record<string, unknown>, token = erin.token, headers: Record<string, string> = {}) =>
      r.request('POST', '/-/npm/v1/tokens', { token, body: { password: PASSWORD, ...payload }, headers });
    const publish = (token: string, name: string, version = '1.0.0', headers: Record<string, string> = {}) =>
      r.request('PUT', `/${name.replace('/', '%2f')}`, {
        token,
        body: body(publishDoc({ name, version }, { access: 'public' })),
        headers,
      });

    before(async () => {
      r = await startRegistry(kind, {}, { clock: () => now });
      erin = await r.user('erin');
    });
    after(() => r.stop());

    it('creates a token only with the password, then lists and revokes it by key prefix', async () => {
      let res = await make(
        { name: 'ci', packages: ['erin-a'], packages_and_scopes_permission: 'read-write' },
        erin.token,
      );
      assert.equal(res.status, 200, res.text);
      const created = res.json();
      assert.match(created.token, /^bwk_[0-9A-Za-z]{42}$/);
      assert.match(created.key, /^[0-9a-f]{64}$/);
      assert.equal(created.readonly, false);
      assert.deepEqual(created.packages, ['erin-a']);
      const days = (Date.parse(created.expires) - Date.parse(created.created)) / 86_400_000;
      assert.equal(Math.round(days), 30, 'write tokens expire in 30 days by default');

      res = await r.request('POST', '/-/npm/v1/tokens', {
        token: erin.token,
        body: { password: 'wrong-password', name: 'x' },
      });
      assert.equal(res.status, 401);
      assert.match(error(res), /incorrect password/);
      res = await r.request('POST', '/-/npm/v1/tokens', { token: erin.token, body: { name: 'x' } });
      assert.equal(res.status, 400);
      res = await r.request('POST', '/-/npm/v1/tokens', { body: { password: PASSWORD } });
      assert.equal(res.status, 401, 'anonymous');

      res = await r.request('GET', '/-/npm/v1/tokens', { token: erin.token });
      assert.equal(res.status, 200);
      const listed = res.json();
      assert.equal(listed.urls.next, null);
      const mine = listed.objects.find((t: { key: string }) => t.key === created.key);
      assert.ok(mine, 'the new token is listed');
      assert.equal(mine.token, created.token.slice(0, 10), 'only its first characters');
      assert.ok(!JSON.stringify(listed).includes(created.token), 'never the secret');

      // A scoped token cannot manage tokens, so a leaked CI token cannot mint or revoke others.
      assert.equal((await r.request('GET', '/-/npm/v1/tokens', { token: created.token })).status, 403);
      assert.equal((await make({ name: 'more' }, created.token)).status, 403);

      assert.equal((await publish(created.token, 'erin-a')).status, 201);
      res = await r.request('DELETE', `/-/npm/v1/tokens/token/${created.key.slice(0, 8)}`, { token: erin.token });
      assert.equal(res.status, 204);
      res = await publish(created.token, 'erin-a', '1.0.1');
      assert.equal(res.status, 401);
      assert.match(error(res), BAD_TOKEN);
      assert.equal(
        (await r.request('DELETE', `/-/npm/v1/tokens/token/${created.key}`, { token: erin.token })).status,
        404,
        'already revoked',
      );

      // Revoking by the secret itself (npm does that when given a token value), and only one's own.
      const other = (await make({ name: 'other' })).json();
      const frank = await r.user('frank');
      assert.equal(
        (await r.request('DELETE', `/-/npm/v1/tokens/token/${other.token}`, { token: frank.token })).status,
        404,
      );
      assert.equal(
        (await r.request('DELETE', `/-/npm/v1/tokens/token/${other.key}`, { token: frank.token })).status,
        404,
      );
      assert.equal(
        (await r.request('DELETE', `/-/npm/v1/tokens/token/${other.token}`, { token: erin.token })).status,
        204,
      );

      const events = await r.store.db
        .selectFrom('events')
        .select(['kind', 'data'])
        .where('subject', '=', 'erin')
        .where('kind', 'in', ['token.created', 'token.revoked'])
        .execute();
      assert.ok(
        events.filter((e) => e.kind === 'token.revoked').length >= 2,
        'revocations are events (and so security emails)',
      );
    });

    it('limits a token to its packages and scopes, and a read-only token to reading', async () => {
      const onlyA = (
        await make({ name: 'a', packages: ['erin-pkg-a'], packages_and_scopes_permission: 'read-write' })
      ).json().token;
      assert.equal((await publish(onlyA, 'erin-pkg-a')).status, 201);
      let res = await publish(onlyA, 'erin-pkg-b');
      assert.equal(res.status, 403);
      assert.match(error(res), /not allowed to change erin-pkg-b/);
      assert.equal((await publish(erin.token, 'erin-pkg-b')).status, 201, 'the account itself may');
      res = await r.request('PUT', '/-/package/erin-pkg-b/dist-tags/next', { token: onlyA, body: '1.0.0' });
      assert.equal(res.status, 403, 'dist-tags of another package too');

      const scoped = (
        await make({ name: 's', scopes: ['@erin/*'], packages_and_scopes_permission: 'read-write' })
      ).json().token;
      assert.equal((await publish(scoped, '@erin/x')).status, 201);
      assert.equal((await publish(scoped, 'erin-pkg-c')).status, 403);

      const ro = (await make({ name: 'ro', packages_all: true, packages_and_scopes_permission: 'read-only' })).json();
      assert.equal(ro.readonly, true);
      assert.equal(ro.expires, null, 'read-only tokens need not expire');
      assert.equal((await r.request('GET', '/erin-pkg-a', { token: ro.token })).status, 200);
      res = await publish(ro.token, 'erin-pkg-a', '2.0.0');
      assert.equal(res.status, 403);
      assert.match(error(res), /read-only/);

      // A restricted package outside a token's list stays invisible to it; public ones stay readable for installs.
      const secret = await r.request('PUT', '/@erin%2fsecret', {
        token: erin.token,
        body: body(publishDoc({ name: '@erin/secret', version: '1.0.0' })),
      });
      assert.equal(secret.status, 201);
      assert.equal((await r.request('GET', '/@erin%2fsecret', { token: erin.token })).status, 200);
      assert.equal((await r.request('GET', '/@erin%2fsecret', { token: onlyA })).status, 404);
      assert.equal((await r.request('GET', '/erin-pkg-b', { token: onlyA })).status, 200);
    });

    it('refuses what must not exist: unscoped or long-lived automation tokens, long-lived write tokens, bad input', async () => {
      for (const [payload, message] of [
        [
          { packages_all: true, packages_and_scopes_permission: 'read-write', bypass_2fa: true },
          /limited to listed packages/,
        ],
        [
          { packages: ['erin-a'], packages_and_scopes_permission: 'read-write', bypass_2fa: true, expires: 91 },
          /from 1 to 90/,
        ],
        [{ packages_all: true, packages_and_scopes_permission: 'read-write', expires: 365 }, /from 1 to 90/],
        [{ packages_and_scopes_permission: 'read-write' }, /must say which packages/],
        [{ packages: ['erin-a'], cidr_whitelist: ['10.0.0.0/40'] }, /prefix length/],
        [{ packages: ['erin-a'], packages_and_scopes_permission: 'read-write-stage-only' }, /staged publishing/],
        [{ packages: 42 }, /list of strings/],
      ] as const) {
        const res = await make({ name: 'bad', ...payload });
        assert.equal(res.status, 400, JSON.stringify(payload));
        assert.match(error(res), message);
      }
      // npm 10's classic body asks for a write token on everything: it gets one, but it expires.
      const classic = (
        await r.request('POST', '/-/npm/v1/tokens', {
          token: erin.token,
          body: { password: PASSWORD, readonly: false, cidr_whitelist: [] },
        })
      ).json();
      assert.equal(classic.readonly, false);
      assert.ok(classic.expires, 'never a long-lived unscoped write token');
    });

    it('gives org administration only for orgs the owner administers, and never publishing with it', async () => {
      await createOrg(r.store.db, 'erinorg', 'erin', null, Date.now());
      const jo = await r.user('jo');
      let res = await make({
        name: 'org',
        orgs: ['erinorg'],
        orgs_permission: 'read-write',
        packages_and_scopes_permission: 'no-access',
      });
      assert.equal(res.status, 200, res.text);
      const orgToken = res.json().token;
      const other = await r.request('POST', '/-/npm/v1/tokens', {
        token: jo.token,
        body: {
          password: PASSWORD,
          name: 'x',
          orgs: ['erinorg'],
          orgs_permission: 'read-write',
          packages_and_scopes_permission: 'no-access',
        },
      });
      assert.equal(other.status, 403);
      assert.match(error(other), /only if you are an owner or admin of it/);

      res = await r.request('PUT', '/-/org/erinorg/user', { token: orgToken, body: { user: 'jo', role: 'developer' } });
      assert.ok(res.status < 300, res.text);
      assert.equal((await publish(orgToken, '@erinorg/tool')).status, 403, 'org administration is not publishing');
      // A token for packages only cannot touch the org, though its owner could.
      const pkgOnly = (
        await make({ name: 'p', packages: ['erin-a'], packages_and_scopes_permission: 'read-write' })
      ).json().token;
      res = await r.request('PUT', '/-/org/erinorg/user', { token: pkgOnly, body: { user: 'jo', role: 'admin' } });
      assert.equal(res.status, 403);
      assert.match(error(res), /does not allow administering the org erinorg/);
    });

    it('refuses a CIDR-limited token from another address, with a clear 401', async () => {
      const t = (
        await make({
          name: 'lan',
          packages: ['erin-cidr'],
          packages_and_scopes_permission: 'read-write',
          cidr_whitelist: ['127.0.0.2/32', '2001:db8::/32'],
        })
      ).json();
      assert.deepEqual(t.cidr_whitelist, ['127.0.0.2/32', '2001:db8::/32']);
      const doc = body(publishDoc({ name: 'erin-cidr', version: '1.0.0' }, { access: 'public' }));
      const refused = await requestFrom(`${r.url}/erin-cidr`, '127.0.0.1', 'PUT', t.token, doc);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers['www-authenticate'], 'ipaddress');
      assert.match(JSON.parse(refused.body).error, /cannot be used from your address 127\.0\.0\.1/);
      const whoami = await requestFrom(`${r.url}/-/whoami`, '127.0.0.1', 'GET', t.token);
      assert.equal(whoami.status, 401);
      const allowed = await requestFrom(`${r.url}/erin-cidr`, '127.0.0.2', 'PUT', t.token, doc);
      assert.equal(allowed.status, 201, allowed.body);
    });

    it('lets an automation token publish without a one-time password where other tokens are asked for one', async () => {
      const gus = await r.user('gus');
      now += 30_000;
      const secret = await enableMfa(r, 'gus', 'auth-and-writes', now);
      const create = (payload: Record<string, unknown>, otp?: string) =>
        r.request('POST', '/-/npm/v1/tokens', {
          token: gus.token,
          body: { password: PASSWORD, ...payload },
          headers: otp ? { 'npm-otp': otp } : {},
        });

      let res = await create({
        name: 'ci',
        packages: ['gus-lib'],
        packages_and_scopes_permission: 'read-write',
        bypass_2fa: true,
      });
      assert.equal(res.status, 401, 'creating a token asks for the second factor');
      assert.equal(res.headers.get('www-authenticate'), 'OTP');
      now += 30_000;
      res = await create(
        { name: 'ci', packages: ['gus-lib'], packages_and_scopes_permission: 'read-write', bypass_2fa: true },
        codeAt(secret, now),
      );
      assert.equal(res.status, 200, res.text);
      const automation = res.json();
      assert.equal(automation.bypass_2fa, true);
      now += 30_000;
      const normal = (
        await create(
          { name: 'plain', packages: ['gus-lib'], packages_and_scopes_permission: 'read-write' },
          codeAt(secret, now),
        )
      ).json();

      res = await publish(normal.token, 'gus-lib');
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'OTP');
      assert.equal((await publish(automation.token, 'gus-lib')).status, 201);
      // It skips the code and nothing else: still only its own packages.
      assert.equal((await publish(automation.token, 'gus-other')).status, 403);
    });

    it('answers expired, revoked, unknown and malformed tokens with the same 401 and the same message', async () => {
      const t = (
        await make({ name: 'short', packages: ['erin-exp'], packages_and_scopes_permission: 'read-write', expires: 1 })
      ).json();
      await r.store.db
        .updateTable('tokens')
        .set({ expires_at: Date.now() - 1 })
        .where('display', '=', t.token.slice(0, 10))
        .execute();
      const revoked = (await make({ name: 'gone' })).json();
      await r.request('DELETE', `/-/npm/v1/tokens/token/${revoked.key}`, { token: erin.token });
      const bad = {
        expired: t.token,
        revoked: revoked.token,
        unknown: newToken(),
        malformed: 'bwk_this-is-not-a-token',
        garbage: 'x'.repeat(60),
        checksum: `${newToken().slice(0, -1)}0`,
      };
      const messages = new Set<string>();
      for (const token of Object.values(bad)) {
        const res = await publish(token, 'erin-timing');
        assert.equal(res.status, 401);
        messages.add(error(res));
      }
      assert.equal(messages.size, 1, `one message for every refusal: ${[...messages].join(' | ')}`);
      assert.match([...messages][0]!, BAD_TOKEN);

      // That they also take the same time is measured by bench/checks.ts (timing on a shared CI machine is noise).
    });
  });
}
