import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { WebClient } from '../helpers/web-client.ts';

for (const kind of DB_KINDS) {
  describe(`package history page (${kind})`, () => {
    let r: TestRegistry;
    let alice: { id: number; token: string };
    before(async () => {
      r = await startRegistry(kind);
      alice = await r.user('alice');
      await r.user('bob');
      for (const [name, version, access] of [
        ['left-pad', '1.0.0', null],
        ['left-pad', '1.1.0', null],
        ['@alice/secret', '0.1.0', 'restricted'],
      ] as const) {
        const res = await r.request('PUT', `/${name.replace('/', '%2f')}`, {
          token: alice.token,
          body: body(publishDoc({ name, version }, access ? { access } : {})),
        });
        assert.equal(res.status, 201);
      }
      assert.equal(
        (await r.request('PUT', '/-/package/left-pad/dist-tags/stable', { token: alice.token, body: '1.0.0' })).status,
        201,
      );
      // The log catches up within a second of the last event.
      const started = Date.now();
      while (Number((await r.request('GET', '/-/log/checkpoint')).text.split('\n')[1]) < 9) {
        if (Date.now() - started > 5000) assert.fail('the log did not catch up');
        await new Promise((res) => setTimeout(res, 25));
      }
    });
    after(() => r.stop());

    it('lists every logged change of a package, newest first, with log indexes and proof links', async () => {
      const web = new WebClient(r.url);
      const res = await web.get('/-/web/package/left-pad/history');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, /text\/html/);
      const rows = [
        ...res.text.matchAll(/<tr><td class="num">(\d+)<\/td><td><time[^>]*>[^<]+<\/time><\/td><td>(.*?)<\/td><\/tr>/g),
      ].map((m) => [Number(m[1]), m[2]!.replace(/<[^>]+>/g, '').trim()]);
      assert.deepEqual(
        rows.map(([, text]) =>
          String(text)
            .replace(/ sha512-\S+/, '')
            .replace(/\s+proof$/, ''),
        ),
        [
          'tag stable → 1.0.0 (alice)',
          'tag latest → 1.1.0 (alice)',
          'published 1.1.0 (alice)',
          'tag latest → 1.0.0 (alice)',
          'published 1.0.0 (alice)',
          'package created (alice)',
        ],
      );
      assert.ok(
        rows.every(([i], k) => k === 0 || (i as number) < (rows[k - 1]![0] as number)),
        'newest first',
      );
      assert.match(res.text, /href="\/-\/log\/proof\/inclusion\?name=left-pad&amp;version=1.1.0"/);
      assert.doesNotMatch(res.text, /secret/);
    });

    it("keeps a restricted package's history invisible to others and shows it, sealed, to its readers", async () => {
      const anon = new WebClient(r.url);
      assert.equal((await anon.get('/-/web/package/@alice/secret/history')).status, 404);
      const bob = new WebClient(r.url);
      assert.equal((await bob.signIn('bob', 'correct-horse-battery')).status, 303);
      const refused = await bob.get('/-/web/package/@alice/secret/history');
      assert.equal(refused.status, 404);
      assert.doesNotMatch(refused.text, /0\.1\.0/);
      const owner = new WebClient(r.url);
      assert.equal((await owner.signIn('alice', 'correct-horse-battery')).status, 303);
      const mine = await owner.get('/-/web/package/@alice/secret/history');
      assert.equal(mine.status, 200);
      assert.match(mine.text, /published <strong>0\.1\.0<\/strong>/);
      assert.match(mine.text, /class="tag">sealed/);
      assert.equal((await anon.get('/-/web/package/no-such-package/history')).status, 404);
    });
  });
}
