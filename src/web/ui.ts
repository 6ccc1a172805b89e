// The web UI: GET / for browsers and the pages under /-/web/, registered on the server the npm protocol routes run on
// (http/server.ts), over the same services. Returns what the server answers a browser's failed request with.
import type { Services } from '../app.ts';
import type { ErrorPages, PageParts } from '../http/server.ts';
import * as adminRoutes from './admin-routes.ts';
import * as approvalRoutes from './approval-routes.ts';
import * as emailRoutes from './email-routes.ts';
import * as logHistoryRoutes from './log-history-routes.ts';
import * as moderationRoutes from './moderation-routes.ts';
import * as orgMemberRoutes from './org-member-routes.ts';
import * as orgRoutes from './org-routes.ts';
import * as packageAccessRoutes from './package-access-routes.ts';
import * as teamMemberRoutes from './team-member-routes.ts';
import * as teamRoutes from './team-routes.ts';
import * as policyRoutes from './policy-routes.ts';
import { WebUi } from './routes.ts';
import { registerNameSafety } from './security-routes.ts';
import * as credentialsRoutes from './credentials-routes.ts';
import * as passwordResetRoutes from './password-reset-routes.ts';
import * as securityHistoryRoutes from './security-history-routes.ts';
import * as tokenRoutes from './token-routes.ts';
import * as twoFactorRoutes from './two-factor-routes.ts';
import * as versionRoutes from './version-routes.ts';
import * as webLoginRoutes from './web-login-routes.ts';

export function registerWebUi(services: Services, { app, secondFactor }: PageParts): ErrorPages {
  const { settings, store, secretKey, clock, packages, lifecycle, gate, publicUrl, names } = services;
  // GET / (JSON for clients, the home page for browsers) and the pages under /-/web/.
  const web = new WebUi({
    db: store.db,
    packages,
    gate,
    signup: settings.signup,
    secretKey,
    secondFactor,
    clock,
    publicUrl,
    lifecycle,
  });
  // The pages behind emailed links, and the account settings (email, password, security history, password reset).
  web.extend((scope) => emailRoutes.register(scope, web));
  for (const routes of [credentialsRoutes, securityHistoryRoutes, passwordResetRoutes])
    web.extend((scope) => routes.register(scope, web));
  // Administrators' account pages (list, find, disable, enable, delete, force a reset, recovery).
  web.extend((scope) => adminRoutes.register(scope, web));
  // The queue of new accounts waiting for an administrator's approval (--email-verification admin).
  web.extend((scope) => approvalRoutes.register(scope, web));
  // Reporting packages (GEN-2b): the report form and the moderators' queue.
  web.extend((scope) => moderationRoutes.register(scope, web));
  // Two-factor settings on the account page, and the pages npm's web login and web OTP send the user to.
  web.extend((scope) => twoFactorRoutes.register(scope, web));
  // The access-tokens page (/-/web/account/tokens).
  web.extend((scope) => tokenRoutes.register(scope, web));
  web.extend((scope) => webLoginRoutes.register(scope, web));
  // Organisations, teams, members and package access (/-/web/orgs, /-/web/org/:org, /-/web/access).
  for (const routes of [orgRoutes, orgMemberRoutes, teamRoutes, teamMemberRoutes, packageAccessRoutes])
    web.extend((scope) => routes.register(scope, web));
  // One version's page: its dependencies, size, integrity and files (/-/web/package/:name/v/:version).
  web.extend((scope) => versionRoutes.register(scope, web));
  // A package's transparency-log history (/-/web/package/:name/history).
  web.extend((scope) => logHistoryRoutes.register(scope, web));
  // The unpublish policy (GEN-2a), rendered from docs/policies/.
  web.extend((scope) => policyRoutes.register(scope, web));
  // Name safety on first publish (typosquatting, reserved names), security.txt and the disclosure policy pages.
  registerNameSafety(app, web, { db: store.db, settings, clock, publicUrl, names });
  web.register(app);
  return web;
}
