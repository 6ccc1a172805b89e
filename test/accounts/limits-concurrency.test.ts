// The one-time-password limit against a burst of concurrent guesses (adversarial review), over HTTP on both
// databases. The limiter's check and the failure it records are apart in time (the code is verified between them),
// so 300 guesses sent at once all passed the check before the first failure was counted: on PostgreSQL about 40 of
// them were tried against a limit of 5 through `npm profile`, and every one through the enrolment's confirmation
// (plus 500s from two first failures inserted at once); 100 wrong passwords sent at once were all tried against a
// limit of 5. An account's one-time passwords, and its passwords from one address, are now checked one at a time,
// and failures are counted atomically.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rules } from '../../src/accounts/limits.ts';
import { DB_KINDS } from '../helpers/db.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { codeAt } from '../helpers/totp.ts';

const PASSWORD = 'correct-horse-battery';
const USER = '/-/npm/v1/user';
const BURST = 300;
// Guesses spread over the code space, none of them the current code (checked below).
const guesses = Array.from({ length: BURST }, (_, i) => String((i * 3331 + 17) % 1_000_000).padStart(6, '0'));

/**
 * The most attempts a rule lets through in a burst that lasted `ms`: its free failures and the one that blocks, then
 * one more each time a block (at least baseMs) runs out while a slow machine is still answering the burst.
 */
const allowed = (rule: { free: number; baseMs: number }, ms: number) => rule.free + 1 + Math.floor(ms / rule.baseMs);

function tally(answers: Array<{ status: number; json(): { code?: string } }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const key = `${a.status} ${a.json().code}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

for (const kind of DB_KINDS) {
  describe(`the one-time-password limit under a burst of concurrent guesses (${kind})`, () => {
    let r: TestRegistry;
    before(async () => {
      r = await startRegistry(kind);
    });
    after(() => r.stop());

    const post = (token: string, body: unknown, otp?: string) =>
      r.request('POST', USER, { token, body, ...(otp ? { headers: { 'npm-otp': otp } } : {}) });

    it('tries no more codes than the limit allows when they all arrive at once (npm profile, a write)', async () => {
      const victim = await r.user('victim');
      const begun = await post(victim.token, { tfa: { mode: 'auth-and-writes', password: PASSWORD } });
      const secret = new URL(begun.json().tfa as string).searchParams.get('secret')!;
      assert.equal((await post(victim.token, { tfa: [codeAt(secret, Date.now())] })).status, 200);
      const current = new Set([-30_000, 0, 30_000].map((d) => codeAt(secret, Date.now() + d)));
      const burst = guesses.filter((g) => !current.has(g));
      const started = Date.now();
      const counts = tally(await Promise.all(burst.map((g) => post(victim.token, { fullname: `x${g}` }, g))));
      const tried = counts['401 E_OTP_INVALID'] ?? 0;
      const most = allowed(Rules.secondFactor, Date.now() - started);
      assert.ok(tried <= most, `${tried} codes were tried (at most ${most}): ${JSON.stringify(counts)}`);
      assert.equal(tried + (counts['429 E_RATE_LIMITED'] ?? 0), burst.length, JSON.stringify(counts));
    });

    it('tries no more passwords than the limit allows when they all arrive at once, and a right one still works', async () => {
      const victim = await r.user('victim3');
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          post(victim.token, { password: { old: `wrong-password-${i}`, new: 'another-good-password-1' } }),
        ),
      );
      const counts = tally(answers);
      const tried = counts['401 E_BAD_CREDENTIALS'] ?? 0;
      const most = allowed(Rules.passwordAccountAddress, Date.now() - started);
      assert.ok(tried <= most, `${tried} passwords were tried (at most ${most}): ${JSON.stringify(counts)}`);
      assert.equal(tried + (counts['429 E_RATE_LIMITED'] ?? 0), 100, JSON.stringify(counts));
      // Checked one after the other, an owner's passwords are never refused for being concurrent.
      const owner = await r.user('owner');
      let current = PASSWORD;
      for (const next of ['first-new-password-1', 'second-new-password-2']) {
        const res = await post(owner.token, { password: { old: current, new: next } });
        assert.equal(res.status, 200, res.text);
        current = next;
      }
    });

    it('tries no more codes than the limit allows when confirming an enrolment, and never fails with a 500', async () => {
      const victim = await r.user('victim2');
      const begun = await post(victim.token, { tfa: { mode: 'auth-and-writes', password: PASSWORD } });
      const secret = new URL(begun.json().tfa as string).searchParams.get('secret')!;
      const current = new Set([-30_000, 0, 30_000].map((d) => codeAt(secret, Date.now() + d)));
      const burst = guesses.filter((g) => !current.has(g));
      const started = Date.now();
      const counts = tally(await Promise.all(burst.map((g) => post(victim.token, { tfa: [g] }))));
      const tried = counts['400 E_TFA_CODE'] ?? 0;
      const most = allowed(Rules.secondFactor, Date.now() - started);
      assert.ok(tried <= most, `${tried} codes were tried (at most ${most}): ${JSON.stringify(counts)}`);
      assert.equal(tried + (counts['429 E_RATE_LIMITED'] ?? 0), burst.length, JSON.stringify(counts));
    });
  });
}
