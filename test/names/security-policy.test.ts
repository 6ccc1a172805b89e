// GEN-1a on both databases: the RFC 9116 security.txt with the operator's settings (and not mistaken for a package),
// the policy page, and the report form: CSRF-checked, open to anyone, its reports visible to administrators (and to
// each reporter for their own), answered by administrators only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DB_KINDS } from '../helpers/db.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';

const PASSWORD = 'correct-horse-battery';

function fields(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n').filter(Boolean)) {
    const m = /^([A-Za-z-]+): (.+)$/.exec(line);
    assert.ok(m, `not a security.txt field line: ${line}`);
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

for (const kind of DB_KINDS) {
  describe(`security.txt, policy page and report form (${kind})`, () => {
    let reg: TestRegistry;
    let configured: TestRegistry;
    before(async () => {
      reg = await startRegistry(kind);
      configured = await startRegistry(kind, {
        'security-contact': 'mailto:security@example.com,https://example.com/report',
        'security-expires': '2027-06-30T00:00:00Z',
        'security-languages': 'en,de',
        'security-policy': 'https://example.com/policy',
      });
    });
    after(async () => {
      await reg.stop();
      await configured.stop();
    });

    it('serves RFC 9116 security.txt: Contact, Expires, Policy, Preferred-Languages, defaults and operator settings', async () => {
      const res = await reg.request('GET', '/.well-known/security.txt');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; charset=utf-8/);
      const f = fields(res.text);
      assert.deepEqual(f.get('Contact'), [`${reg.url}/-/web/security/report`]);
      assert.deepEqual(f.get('Policy'), [`${reg.url}/-/web/security`]);
      assert.deepEqual(f.get('Preferred-Languages'), ['en']);
      const expires = Date.parse(f.get('Expires')![0]!);
      assert.ok(
        expires > Date.now() && expires < Date.now() + 366 * 86_400_000,
        'Expires is in the future and less than a year ahead',
      );
      assert.deepEqual(f.get('Canonical'), [`${reg.url}/.well-known/security.txt`]);

      const c = fields((await configured.request('GET', '/.well-known/security.txt')).text);
      assert.deepEqual(c.get('Contact'), ['mailto:security@example.com', 'https://example.com/report']);
      assert.deepEqual(c.get('Expires'), ['2027-06-30T00:00:00Z']);
      assert.deepEqual(c.get('Policy'), ['https://example.com/policy']);
      assert.deepEqual(c.get('Preferred-Languages'), ['en, de']);
      // Other /.well-known/ paths are not packages either.
      assert.equal((await reg.request('GET', '/.well-known/other')).status, 404);
    });

    it('the policy page states how to report, scope, safe harbor and the 3-day and 90-day commitments', async () => {
      const web = new WebClient(configured.url);
      const res = await web.get('/-/web/security');
      assert.equal(res.status, 200);
      for (const text of [
        'How to report',
        'Scope',
        'Safe harbor',
        '3 business days',
        '90 days',
        'Coordinated disclosure',
        'security@example.com',
        '/-/web/security/report',
      ])
        assert.ok(res.text.includes(text), text);
    });

    it('the report form needs its CSRF token, takes reports from anyone, and only administrators see every report', async () => {
      const anon = new WebClient(reg.url);
      const form = {
        email: 'researcher@example.org',
        subject: 'XSS in search',
        body: 'The search page reflects q unescaped when …',
      };
      const noToken = await anon.post('/-/web/security/report', form);
      assert.equal(noToken.status, 403, 'no CSRF token, no report');
      const token = csrfIn((await anon.get('/-/web/security/report')).text);
      const crossSite = await anon.post(
        '/-/web/security/report',
        { ...form, _csrf: token },
        { 'sec-fetch-site': 'cross-site' },
      );
      assert.equal(crossSite.status, 403);
      const bad = await anon.post('/-/web/security/report', { ...form, email: 'nope', _csrf: token });
      assert.equal(bad.status, 400);
      assert.match(bad.text, /email address/);
      const sent = await anon.post('/-/web/security/report', { ...form, _csrf: token });
      assert.equal(sent.status, 201, sent.text);
      assert.equal((await anon.get('/-/web/security/reports')).status, 303, 'signed-out visitors are sent to sign in');

      await reg.user('bob');
      const bob = new WebClient(reg.url);
      assert.equal((await bob.signIn('bob', PASSWORD)).status, 303);
      const bobToken = csrfIn((await bob.get('/-/web/security/report')).text);
      assert.equal(
        (
          await bob.post('/-/web/security/report', {
            email: 'bob@example.com',
            subject: 'Token leak in logs',
            body: 'Tokens appear in the access log when …',
            _csrf: bobToken,
          })
        ).status,
        201,
      );
      const bobList = await bob.get('/-/web/security/reports');
      assert.equal(bobList.status, 200);
      assert.ok(bobList.text.includes('Token leak in logs'));
      assert.ok(!bobList.text.includes('XSS in search'), 'a user sees only their own reports');
      const id = Number(/id="report-(\d+)"/.exec(bobList.text)![1]);
      const bobAnswer = await bob.post(`/-/web/security/reports/${id}/answer`, {
        answer: 'fixed',
        _csrf: csrfIn(bobList.text),
      });
      assert.equal(bobAnswer.status, 404, 'only administrators answer');

      const admin = new WebClient(reg.url);
      assert.equal((await admin.signIn('admin', PASSWORD)).status, 303);
      const all = await admin.get('/-/web/security/reports');
      assert.ok(
        all.text.includes('XSS in search') && all.text.includes('Token leak in logs'),
        'administrators see every report',
      );
      const answered = await admin.post(`/-/web/security/reports/${id}/answer`, {
        answer: 'Thanks, confirmed; fix in 0.2.1.',
        _csrf: csrfIn(all.text),
      });
      assert.equal(answered.status, 303);
      assert.match((await bob.get('/-/web/security/reports')).text, /Thanks, confirmed; fix in 0\.2\.1\./);
      const events = await reg.store.db
        .selectFrom('events')
        .select('kind')
        .where('kind', 'like', 'security.%')
        .execute();
      assert.deepEqual(events.map((e) => e.kind).sort(), [
        'security.report-answered',
        'security.report-received',
        'security.report-received',
      ]);
    });
  });
}
