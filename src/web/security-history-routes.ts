// The account page's Security history section: the account's security events, newest first, a page at a time
// (?history=<before>).
import type { FastifyInstance } from 'fastify';
import { securityHistory } from '../accounts/security-history.ts';
import { AccountSlot } from './pages/account.ts';
import { historySection } from './pages/settings.ts';
import type { WebUi } from './routes.ts';

export const HISTORY_PAGE_SIZE = 20;

export function register(_scope: FastifyInstance, web: WebUi): void {
  web.setAccountSection(AccountSlot.SecurityHistory, async ({ query, user, now }) => {
    const before = query.history ? Number(query.history) : null;
    const history = await securityHistory(web.deps.db, user.id, { limit: HISTORY_PAGE_SIZE, before });
    return historySection({ history, now, newer: before !== null });
  });
}
