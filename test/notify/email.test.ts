import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createToken } from '../../src/tokens/service.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { body, publishDoc } from '../helpers/packages.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startSmtp, type Smtp } from '../helpers/smtp.ts';
import { WebClient } from '../helpers/web-client.ts';

const linkIn = (text: string) => /(http:\/\/\S+\/-\/web\/verify-email\?token=[\w-]+)/.exec(text)?.[1];

for (const kind of DB_KINDS) {
  describe(`email verification over SMTP (${kind})`, () => {
    let smtp: Smtp;
    let r: TestRegistry;
    before(async () => {
      smtp = await startSmtp();
      r = await startRegistry(kind, { 'smtp-url': smtp.url, 'mail-from': 'Registry <registry@example.com>' });
    });
    after(async () => {
      await r.stop();
      await smtp.stop();
    });

    it('sends a verification link on npm adduser; the link verifies once and then publishing works', async () => {
      const signup = await r.request('PUT', '/-/user/org.couchdb.user:gina', {
        body: { name: 'gina', password: 'a-long-passphrase', email: 'gina@example.com' },
      });
      const { token } = signup.json();
      const mail = await smtp.waitFor((m) => m.to.includes('gina@example.com') && /Verify your email/.test(m.subject));
      assert.equal(mail.from, 'registry@example.com');
      const link = linkIn(mail.text);
      assert.ok(link, mail.text);
      assert.ok(link.startsWith(r.url));
      assert.equal(
        (await r.request('PUT', '/gina-pkg', { token, body: body(publishDoc({ name: 'gina-pkg', version: '1.0.0' })) }))
          .status,
        403,
      );

      const verified = await fetch(link);
      assert.equal(verified.status, 200);
      assert.match(await verified.text(), /verified/);
      assert.equal(
        (await r.request('PUT', '/gina-pkg', { token, body: body(publishDoc({ name: 'gina-pkg', version: '1.0.0' })) }))
          .status,
        201,
      );

      const again = await fetch(link);
      assert.equal(again.status, 400);
      assert.match(await again.text(), /already been used/);
      const forged = await fetch(link.replace(/token=.{5}/, 'token=AAAAA'));
      assert.equal(forged.status, 400);
    });

    it('refuses an expired link and a link sent to an address the account no longer has', async () => {
      await r.request('PUT', '/-/user/org.couchdb.user:hank', {
        body: { name: 'hank', password: 'a-long-passphrase', email: 'hank@example.com' },
      });
      const first = linkIn((await smtp.waitFor((m) => m.to.includes('hank@example.com'))).text)!;
      await r.store.db
        .updateTable('email_tokens')
        .set({ expires_at: Date.now() - 1 })
        .where('email', '=', 'hank@example.com')
        .execute();
      const expired = await fetch(first);
      assert.equal(expired.status, 400);
      assert.match(await expired.text(), /expired/);

      await r.request('PUT', '/-/user/org.couchdb.user:ivy', {
        body: { name: 'ivy', password: 'a-long-passphrase', email: 'ivy@example.com' },
      });
      const link = linkIn((await smtp.waitFor((m) => m.to.includes('ivy@example.com'))).text)!;
      await r.store.db.updateTable('users').set({ email: 'ivy-new@example.com' }).where('name', '=', 'ivy').execute();
      const moved = await fetch(link);
      assert.equal(moved.status, 400);
      assert.match(await moved.text(), /no longer on the account/);
      const ivy = await r.store.db
        .selectFrom('users')
        .select('email_verified')
        .where('name', '=', 'ivy')
        .executeTakeFirstOrThrow();
      assert.equal(ivy.email_verified, 0);
    });

    it('retries an email the SMTP server refused, and sends each email once even with two nodes', async () => {
      const { drainOutbox, enqueue } = await import('../../src/notify/outbox.ts');
      const pino = (await import('pino')).default;
      const logger = pino({ level: 'silent' });
      await r.store.db
        .transaction()
        .execute((trx) => enqueue(trx, { to: 'retry@example.com', subject: 'retry me', text: 'hello' }, 0));
      let calls = 0;
      // Only this email counts: the outbox may still hold earlier tests' emails that the server's own sender has not sent.
      const broken = {
        enabled: true,
        send: async (m: { to: string }) => {
          if (m.to === 'retry@example.com') calls++;
          throw new Error('451 try later');
        },
      };
      // Another node's sender (with a broken mail server) claims first: the email is not lost, only delayed.
      await drainOutbox({ db: r.store.db, mailer: broken, logger, clock: () => Date.now() });
      assert.equal(calls, 1);
      const row = await r.store.db
        .selectFrom('outbox')
        .selectAll()
        .where('recipient', '=', 'retry@example.com')
        .executeTakeFirstOrThrow();
      assert.equal(row.attempts, 1);
      assert.match(row.last_error ?? '', /451/);
      assert.equal(row.sent_at, null);
      // Two senders racing after the back-off: exactly one sends it.
      const later = () => Date.now() + 3600_000;
      const sent: string[] = [];
      const ok = (label: string) => ({
        enabled: true,
        send: async (m: { to: string }) => void sent.push(`${label}:${m.to}`),
      });
      await Promise.all([
        drainOutbox({ db: r.store.db, mailer: ok('a'), logger, clock: later }),
        drainOutbox({ db: r.store.db, mailer: ok('b'), logger, clock: later }),
      ]);
      assert.equal(sent.filter((s) => s.endsWith('retry@example.com')).length, 1);
    });

    it('sends a security notice when a token is created, and nothing to operator-created accounts', async () => {
      const jo = await r.user('jo');
      await createToken(r.store.db, { userId: jo.id, userName: 'jo', name: 'laptop', kind: 'publish' });
      const notice = await smtp.waitFor(
        (m) => m.to.includes('jo@example.com') && /new access token/.test(m.subject) && /laptop/.test(m.text),
      );
      assert.match(notice.text, /name: laptop/);
      assert.equal(
        smtp.mails.filter((m) => m.to.includes('jo@example.com') && /Verify/.test(m.subject)).length,
        0,
        'a verified account gets no verification email',
      );
    });

    it('tells the account about a sign-in from a new browser or address, and not about a known one', async () => {
      await r.user('sina');
      const isNotice = (m: { to: string[]; subject: string }) =>
        m.to.includes('sina@example.com') && /new sign-in from a new device/.test(m.subject);
      const first = new WebClient(r.url);
      assert.equal((await first.signIn('sina', 'correct-horse-battery')).status, 303);
      const notice = await smtp.waitFor(isNotice);
      assert.match(notice.text, /browser: Mozilla\/5\.0/);

      const again = new WebClient(r.url);
      assert.equal((await again.signIn('sina', 'correct-horse-battery')).status, 303, 'same browser and address');
      const other = new WebClient(r.url);
      other.userAgent = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0';
      assert.equal((await other.signIn('sina', 'correct-horse-battery')).status, 303, 'a new browser');
      await smtp.waitFor((m) => isNotice(m) && /Firefox/.test(m.text));
      // Let the notifier catch up with everything, then count: the known browser sent nothing.
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(smtp.mails.filter(isNotice).length, 2);
    });
  });
}
