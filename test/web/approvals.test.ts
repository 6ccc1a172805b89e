// The administrators' approval queue (/-/web/admin/approvals, --email-verification admin): new accounts are listed
// until approved (email verified: may publish) or rejected (deleted), each recorded with who did it; nobody but an
// administrator sees the queue or acts on it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { securityHistory } from '../../src/accounts/security-history.ts';
import { findUser } from '../../src/accounts/users.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { WebClient, csrfIn } from '../helpers/web-client.ts';
import { eventAbout } from '../helpers/events.ts';

const QUEUE = '/-/web/admin/approvals';

describe('web: the approval queue', () => {
  let r: TestRegistry;
  let admin: WebClient;

  async function signUp(name: string): Promise<WebClient> {
    const web = new WebClient(r.url);
    const form = await web.get('/-/web/signup');
    const res = await web.post('/-/web/signup', {
      _csrf: csrfIn(form.text),
      username: name,
      email: `${name}@example.com`,
      password: 'a-long-passphrase',
    });
    assert.equal(res.status, 303, res.text);
    return web;
  }

  const state = async (name: string) => {
    const u = await findUser(r.store.db, name);
    return { verified: u?.email_verified === 1, deleted: u?.deleted_at !== null };
  };

  before(async () => {
    r = await startRegistry('sqlite', { 'email-verification': 'admin' });
    admin = new WebClient(r.url);
    assert.equal((await admin.signIn('admin', 'correct-horse-battery')).status, 303);
  });
  after(() => r.stop());

  it('lists new accounts; approving verifies one, recorded with the administrator in its security history', async () => {
    const ann = await signUp('ann');
    await signUp('bob');
    const queue = await admin.get(QUEUE);
    assert.equal(queue.status, 200);
    assert.match(queue.text, /Accounts awaiting approval/);
    assert.match(queue.text, /ann@example\.com/);
    assert.match(queue.text, /bob@example\.com/);
    assert.match(queue.text, /2 accounts waiting/);
    assert.match((await admin.get('/-/web/admin/users')).text, /href="\/-\/web\/admin\/approvals"/);

    const res = await admin.post(`${QUEUE}/ann/approve`, { _csrf: csrfIn(queue.text) });
    assert.equal(res.status, 303, res.text);
    const after = await admin.get(res.location!);
    assert.match(after.text, /ann was approved: the account may publish now/);
    assert.doesNotMatch(after.text, /ann@example\.com/);
    assert.deepEqual(await state('ann'), { verified: true, deleted: false });

    const user = (await findUser(r.store.db, 'ann'))!;
    const event = await eventAbout(r.store.db, 'ann', 'user.email-verified');
    const adminRow = (await findUser(r.store.db, 'admin'))!;
    assert.equal(event.actor_id, adminRow.id);
    assert.deepEqual(JSON.parse(event.data), { email: 'ann@example.com', by: 'admin' });
    const history = await securityHistory(r.store.db, user.id, { limit: 10, before: null });
    assert.ok(
      history.entries.some((e) => e.what === 'Account approved by an administrator' && e.details.includes('by admin')),
      JSON.stringify(history.entries),
    );
    // The owner sees it too.
    assert.match((await ann.get('/-/web/account')).text, /Account approved by an administrator/);

    // Approving again finds no waiting account.
    const again = await admin.post(`${QUEUE}/ann/approve`, { _csrf: csrfIn(after.text) });
    assert.equal(again.status, 404);
    assert.match(again.text, /no account named ann is waiting for approval/i);
  });

  it('rejecting deletes the account, asks for a reason and records it', async () => {
    const queue = await admin.get(QUEUE);
    const noReason = await admin.post(`${QUEUE}/bob/reject`, { _csrf: csrfIn(queue.text), reason: '' });
    assert.equal(noReason.status, 400);
    assert.match(noReason.text, /give a reason/i);
    assert.deepEqual(await state('bob'), { verified: false, deleted: false }, 'nothing done without a reason');

    const res = await admin.post(`${QUEUE}/bob/reject`, { _csrf: csrfIn(queue.text), reason: 'spam sign-up' });
    assert.equal(res.status, 303, res.text);
    assert.match((await admin.get(res.location!)).text, /bob was rejected and the account deleted/);
    assert.deepEqual(await state('bob'), { verified: false, deleted: true });
    const event = await eventAbout(r.store.db, 'bob', 'user.deleted');
    assert.equal(JSON.parse(event.data).reason, 'spam sign-up');
    assert.equal(JSON.parse(event.data).by, 'admin');
    // Signing in with it no longer works.
    assert.notEqual((await new WebClient(r.url).signIn('bob', 'a-long-passphrase')).status, 303);
  });

  it('refuses everyone but administrators: a waiting account, a verified user, and anonymous callers', async () => {
    const cat = await signUp('cat');
    await r.user('dan');
    const dan = new WebClient(r.url);
    assert.equal((await dan.signIn('dan', 'correct-horse-battery')).status, 303);
    const adminQueue = await admin.get(QUEUE);
    assert.match(adminQueue.text, /cat@example\.com/);

    for (const [who, web] of [
      ['the waiting account itself', cat],
      ['a verified user', dan],
    ] as const) {
      const page = await web.get(QUEUE);
      assert.equal(page.status, 404, `${who} does not see the queue`);
      assert.doesNotMatch(page.text, /cat@example\.com/);
      const csrf = await web.csrf('/-/web/account');
      const approve = await web.post(`${QUEUE}/cat/approve`, { _csrf: csrf });
      assert.equal(approve.status, 404, `${who} cannot approve`);
      const reject = await web.post(`${QUEUE}/cat/reject`, { _csrf: csrf, reason: 'not me' });
      assert.equal(reject.status, 404, `${who} cannot reject`);
    }
    const anonymous = new WebClient(r.url);
    assert.equal((await anonymous.get(QUEUE)).status, 303, 'sent to sign in');
    const csrf = await anonymous.csrf('/-/web/signin');
    const anonymousApprove = await anonymous.post(`${QUEUE}/cat/approve`, { _csrf: csrf });
    assert.equal(anonymousApprove.status, 303);
    assert.match(anonymousApprove.location ?? '', /^\/-\/web\/signin\?next=/, 'sent to sign in, nothing done');
    // A token of an administrator's does not stand in for the signed-in browser.
    const viaToken = await dan.post(
      `${QUEUE}/cat/approve`,
      { _csrf: await dan.csrf('/-/web/account') },
      { authorization: `Bearer ${r.adminToken}` },
    );
    assert.equal(viaToken.status, 404);
    assert.deepEqual(await state('cat'), { verified: false, deleted: false }, 'still waiting');
  });
});
