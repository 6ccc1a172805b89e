// Invariant 6 on the read routes, as an outsider probes them: every GET and HEAD an npm client, a browser or a script
// could send about one package (packument in each form and encoding, tarball URLs, dist-tags, collaborators,
// visibility, downloads, log proofs, the web pages, the report forms) answers a restricted package exactly as a
// missing one — same status, same headers, same body — to anyone who may not read it: anonymous, a bad token, a
// signed-in stranger, an org member without a grant, by token and by web session. Aggregate reads (search, the
// changes feed, a user's package list) never name it. Complements invisible-writes.test.ts (issue 15, item 4).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DB_KINDS } from '../helpers/db.ts';
import { secretsAndOutsiders } from '../helpers/outsiders.ts';
import { startRegistry, type Response, type TestRegistry } from '../helpers/registry.ts';
import { WebClient, csrfIn, type WebResponse } from '../helpers/web-client.ts';

type Probe = {
  what: string;
  method: 'GET' | 'HEAD' | 'POST';
  path: (name: string) => string;
  headers?: Record<string, string>;
  body?: (name: string) => unknown;
};

const enc = (name: string) => name.replace('/', '%2f');
const q = (name: string) => encodeURIComponent(name);

const PROBES: Probe[] = [
  { what: 'packument', method: 'GET', path: (n) => `/${enc(n)}` },
  { what: 'packument, unencoded slash', method: 'GET', path: (n) => `/${n}` },
  { what: 'packument, upper-case escape', method: 'GET', path: (n) => `/${n.replace('/', '%2F')}` },
  { what: 'packument HEAD', method: 'HEAD', path: (n) => `/${enc(n)}` },
  {
    what: 'abbreviated packument',
    method: 'GET',
    path: (n) => `/${enc(n)}`,
    headers: { accept: 'application/vnd.npm.install-v1+json' },
  },
  {
    what: 'abbreviated packument HEAD',
    method: 'HEAD',
    path: (n) => `/${enc(n)}`,
    headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*' },
  },
  {
    what: 'packument, compressed',
    method: 'GET',
    path: (n) => `/${enc(n)}`,
    headers: { 'accept-encoding': 'gzip, deflate, br' },
  },
  { what: 'packument revalidation', method: 'GET', path: (n) => `/${enc(n)}`, headers: { 'if-none-match': '*' } },
  { what: 'packument as a page', method: 'GET', path: (n) => `/${enc(n)}`, headers: { accept: 'text/html' } },
  { what: 'tarball of a version it has', method: 'GET', path: (n) => `/${n}/-/secret-1.0.0.tgz` },
  { what: 'tarball, encoded name', method: 'GET', path: (n) => `/${enc(n)}/-/secret-1.0.0.tgz` },
  { what: 'tarball HEAD', method: 'HEAD', path: (n) => `/${n}/-/secret-1.0.0.tgz` },
  { what: 'tarball of a version it lacks', method: 'GET', path: (n) => `/${n}/-/secret-9.9.9.tgz` },
  {
    what: 'tarball revalidation',
    method: 'GET',
    path: (n) => `/${n}/-/secret-1.0.0.tgz`,
    headers: { 'if-none-match': '*' },
  },
  { what: 'dist-tags', method: 'GET', path: (n) => `/-/package/${enc(n)}/dist-tags` },
  { what: 'dist-tags HEAD', method: 'HEAD', path: (n) => `/-/package/${enc(n)}/dist-tags` },
  { what: 'collaborators', method: 'GET', path: (n) => `/-/package/${enc(n)}/collaborators` },
  { what: 'visibility', method: 'GET', path: (n) => `/-/package/${enc(n)}/visibility` },
  { what: 'downloads, point', method: 'GET', path: (n) => `/downloads/point/last-week/${n}` },
  { what: 'downloads, range', method: 'GET', path: (n) => `/downloads/range/last-month/${n}` },
  { what: 'inclusion proof', method: 'GET', path: (n) => `/-/log/proof/inclusion?name=${q(n)}&version=1.0.0` },
  {
    what: 'inclusion proofs, batch',
    method: 'POST',
    path: () => '/-/log/proof/inclusion',
    body: (n) => ({ versions: [`${n}@1.0.0`] }),
  },
  {
    what: 'report, with a version',
    method: 'POST',
    path: () => '/-/bulwark/v1/reports',
    body: (n) => ({ package: n, version: '1.0.0', reason: 'malware', details: 'it steals tokens' }),
  },
  {
    what: 'report, without a version',
    method: 'POST',
    path: () => '/-/bulwark/v1/reports',
    body: (n) => ({ package: n, reason: 'malware', details: 'it steals tokens' }),
  },
  { what: 'web package page', method: 'GET', path: (n) => `/-/web/package/${n}`, headers: { accept: 'text/html' } },
  {
    what: 'web package page HEAD',
    method: 'HEAD',
    path: (n) => `/-/web/package/${n}`,
    headers: { accept: 'text/html' },
  },
  {
    what: 'web history page',
    method: 'GET',
    path: (n) => `/-/web/package/${n}/history`,
    headers: { accept: 'text/html' },
  },
  {
    what: 'web report form',
    method: 'GET',
    path: (n) => `/-/web/report?package=${q(n)}&version=1.0.0`,
    headers: { accept: 'text/html' },
  },
];

// Per-response noise: a fresh request id, date and CSRF secret on every answer.
const NOISY = new Set(['date', 'x-request-id', 'keep-alive', 'connection']);
const same = (text: string) =>
  text.replace(/secret|absent/g, 'NAME').replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf"');
const headersOf = (h: Headers) =>
  [...h].filter(([k]) => !NOISY.has(k)).map(([k, v]) => [k, k === 'set-cookie' ? v.replace(/=[^;]*/, '=…') : v]);
const visible = (res: Response | WebResponse) =>
  JSON.stringify({ status: res.status, headers: headersOf(res.headers), body: same(res.text) });

for (const kind of DB_KINDS) {
  describe(`reads of a package the caller cannot read answer as for a missing one (${kind})`, () => {
    let r: TestRegistry;
    const callers: Record<string, string | null> = {};
    const passwords: Record<string, string> = {};

    before(async () => {
      r = await startRegistry(kind);
      const { owner, callers: outsiders } = await secretsAndOutsiders(r, { description: 'zqxsecretword' });
      Object.assign(callers, outsiders);
      Object.assign(passwords, { bob: 'correct-horse-battery', carol: 'correct-horse-battery' });
      // The log must hold both versions, or the proof probes would compare two "not logged yet" answers.
      const logged = async () => {
        for (const name of ['@alice/secret', '@acme/secret'])
          if (
            (await r.request('GET', `/-/log/proof/inclusion?name=${q(name)}&version=1.0.0`, { token: owner }))
              .status !== 200
          )
            return false;
        return true;
      };
      for (let i = 0; i < 150 && !(await logged()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(await logged(), 'the restricted versions reached the transparency log');
    });
    after(() => r.stop());

    for (const scope of ['alice', 'acme']) {
      it(`in @${scope}: every read by token answers the same for @${scope}/secret (restricted) and @${scope}/absent (missing)`, async () => {
        const differences: string[] = [];
        for (const [who, token] of Object.entries(callers)) {
          for (const p of PROBES) {
            const answers: string[] = [];
            for (const name of [`@${scope}/secret`, `@${scope}/absent`]) {
              const payload = p.body?.(name);
              answers.push(
                visible(
                  await r.request(p.method, p.path(name), {
                    token,
                    headers: p.headers ?? {},
                    ...(payload !== undefined ? { body: payload } : {}),
                  }),
                ),
              );
            }
            if (answers[0] !== answers[1])
              differences.push(`${who}, ${p.what}:\n  restricted ${answers[0]}\n  missing    ${answers[1]}`);
          }
        }
        assert.deepEqual(differences, []);
      });

      it(`in @${scope}: the web pages and forms answer the same to a signed-in stranger and an org member`, async () => {
        const differences: string[] = [];
        for (const who of Object.keys(passwords)) {
          const web = new WebClient(r.url);
          assert.equal((await web.signIn(who, passwords[who]!)).status, 303);
          const pages = (n: string) => [
            `/-/web/package/${n}`,
            `/-/web/package/${n}/history`,
            `/-/web/access?package=${q(n)}`,
            `/-/web/report?package=${q(n)}`,
            `/-/web/report?package=${q(n)}&version=1.0.0`,
          ];
          const [hidden, missing] = [pages(`@${scope}/secret`), pages(`@${scope}/absent`)];
          for (let i = 0; i < hidden.length; i++) {
            const [a, b] = [visible(await web.get(hidden[i]!)), visible(await web.get(missing[i]!))];
            if (a !== b) differences.push(`${who}, GET ${hidden[i]}:\n  restricted ${a}\n  missing    ${b}`);
          }
          const forms: Array<[string, Record<string, string>]> = [
            ['/-/web/access/maintainers', { user: who }],
            ['/-/web/access/maintainers/remove', { user: 'alice' }],
            ['/-/web/access/teams', { team: 'acme:developers', permission: 'read-only' }],
            ['/-/web/access/teams/remove', { team: 'acme:developers' }],
            ['/-/web/report', { reason: 'malware', details: 'it steals tokens', version: '1.0.0' }],
          ];
          for (const [path, form] of forms) {
            const answers: string[] = [];
            for (const name of [`@${scope}/secret`, `@${scope}/absent`]) {
              const csrf = csrfIn((await web.get('/-/web/orgs')).text);
              answers.push(visible(await web.post(path, { _csrf: csrf, package: name, ...form })));
            }
            if (answers[0] !== answers[1])
              differences.push(`${who}, POST ${path}:\n  restricted ${answers[0]}\n  missing    ${answers[1]}`);
          }
        }
        assert.deepEqual(differences, []);
      });
    }

    it('search, the changes feed and user package lists never name a restricted package to an outsider', async () => {
      const leaks: string[] = [];
      for (const [who, token] of Object.entries(callers)) {
        for (const path of [
          '/-/v1/search?text=zqxsecretword',
          '/-/v1/search?text=secret',
          '/-/v1/search?text=scope:acme',
          '/-/bulwark/v1/changes',
          '/-/user/alice/package',
          '/-/org/acme/package',
        ]) {
          const res = await r.request('GET', path, { token });
          if (/@(alice|acme)\/secret|zqxsecretword/.test(res.text.replace(/text=zqxsecretword/g, '')))
            leaks.push(`${who} GET ${path}: ${res.status} ${res.text.slice(0, 300)}`);
        }
      }
      const web = new WebClient(r.url);
      for (const path of ['/-/web/search?q=secret', '/-/web/search?q=zqxsecretword']) {
        const res = await web.get(path);
        if (/@(alice|acme)\/secret/.test(res.text)) leaks.push(`anonymous web GET ${path}`);
      }
      assert.deepEqual(leaks, []);
    });
  });
}
