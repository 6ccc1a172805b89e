// The second-factor policy of the write gate, without a server (src/access/second-factor.ts): which writes ask for a
// one-time password, who skips it, and what each refusal is. The HTTP tests (test/web/two-factor.test.ts,
// test/http/profile.test.ts) drive the same rules through npm's headers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Action, type ActionValue } from '../../src/access/decide.ts';
import type { Principal } from '../../src/access/principal.ts';
import { OtpRequired, requireSecondFactor, writeAsksSecondFactor } from '../../src/access/second-factor.ts';
import { ClientError } from '../../src/errors.ts';
import type { TokenScope } from '../../src/tokens/scope.ts';

const alice: Principal = {
  userId: 1,
  name: 'alice',
  email: 'alice@example.com',
  isAdmin: false,
  emailVerified: true,
  tokenId: 7,
  tokenReadonly: false,
};
const automation: TokenScope = {
  v: 1,
  packages: { permission: 'read-write', all: false, names: ['left-pad'], scopes: [] },
  orgs: { permission: 'no-access', names: [] },
  cidr: [],
  bypass2fa: true,
};

describe('which writes ask for a second factor', () => {
  const writes = Object.values(Action) as ActionValue[];

  it('every write but a report, for any principal without an automation token', () => {
    for (const action of writes)
      assert.equal(writeAsksSecondFactor(alice, action), action !== Action.ReportCreate, action);
  });

  it('an automation token skips it for package changes only', () => {
    const ci = { ...alice, tokenScope: automation };
    for (const action of writes)
      assert.equal(
        writeAsksSecondFactor(ci, action),
        action !== Action.ReportCreate && !action.startsWith('package:'),
        action,
      );
    assert.equal(writeAsksSecondFactor(ci, Action.PackagePublish), false);
    assert.equal(writeAsksSecondFactor(ci, Action.OrgMembersWrite), true, 'org administration still asks');
    const notAutomation = { ...alice, tokenScope: { ...automation, bypass2fa: false } };
    assert.equal(writeAsksSecondFactor(notAutomation, Action.PackagePublish), true);
  });
});

describe('requireSecondFactor: what each refusal is', () => {
  const verified: number[] = [];
  const verify = async (userId: number, code: string) => {
    verified.push(userId);
    return code.trim() === '123456';
  };
  const refusal = async (p: Promise<void>) => {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof ClientError);
      return err;
    }
    assert.fail('expected a refusal');
  };

  it('no code: 401 E_OTP_REQUIRED with WWW-Authenticate: OTP, and no code checked', async () => {
    for (const otp of [undefined, '', '   ']) {
      const err = await refusal(requireSecondFactor({ otp }, 1, 'this change', verify));
      assert.equal(err.code, 'E_OTP_REQUIRED');
      assert.equal(err.status, 401);
      assert.deepEqual(err.headers, { 'www-authenticate': 'OTP' });
      assert.match(err.message, /^this change requires a one-time password .* --otp=CODE$/);
      assert.ok(!(err instanceof OtpRequired), 'no web OTP offered when the entry point has none');
    }
    assert.deepEqual(verified, []);
  });

  it('no code with web OTP: the 401 carries the URLs npm 11 opens', async () => {
    const offered: Array<[number, string]> = [];
    const err = await refusal(
      requireSecondFactor(
        {
          otp: undefined,
          offerWebOtp: async (userId, what) => {
            offered.push([userId, what]);
            return { authUrl: 'https://r.example/auth', doneUrl: 'https://r.example/done' };
          },
        },
        1,
        'creating a token',
        verify,
      ),
    );
    assert.ok(err instanceof OtpRequired);
    assert.equal(err.code, 'E_OTP_REQUIRED');
    assert.deepEqual(err.body, { authUrl: 'https://r.example/auth', doneUrl: 'https://r.example/done' });
    assert.deepEqual(offered, [[1, 'creating a token']]);
  });

  it('a wrong code: 401 E_OTP_INVALID; the right one passes', async () => {
    const err = await refusal(requireSecondFactor({ otp: '000000' }, 2, 'this change', verify));
    assert.equal(err.code, 'E_OTP_INVALID');
    assert.equal(err.status, 401);
    assert.deepEqual(err.headers, { 'www-authenticate': 'OTP' });
    await requireSecondFactor({ otp: ' 123456 ' }, 2, 'this change', verify);
    assert.deepEqual(verified, [2, 2]);
  });
});
