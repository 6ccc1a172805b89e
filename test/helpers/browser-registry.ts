// What a browser test of the web UI starts with: a registry (with a real SMTP server when the test reads mail), the
// users it needs, and a browser, all stopped by one close().
import type { Page } from 'playwright-core';
import { browserUrl, cspViolations, launchBrowser, signInThroughForm, type TestBrowser } from './browser.ts';
import { startRegistry, type TestRegistry } from './registry.ts';
import { startSmtp, type Smtp } from './smtp.ts';

export type BrowserRegistry = {
  r: TestRegistry;
  b: TestBrowser;
  /** the registry's URL as the browser uses it (browserUrl). */
  base: string;
  /** the SMTP server the registry sends to, when asked for; otherwise null. */
  smtp: Smtp | null;
  /** A new person in the browser, signed in through the form, and the CSP violations their page reports. */
  signedIn(name: string, password: string): Promise<{ page: Page; blocked: string[] }>;
  close(): Promise<void>;
};

type Options = { smtp?: boolean; users?: string[]; flags?: Record<string, string> };

export async function startBrowserRegistry(opts: Options & { smtp: true }): Promise<BrowserRegistry & { smtp: Smtp }>;
export async function startBrowserRegistry(opts?: Options): Promise<BrowserRegistry>;
export async function startBrowserRegistry(opts: Options = {}): Promise<BrowserRegistry> {
  const smtp = opts.smtp ? await startSmtp() : null;
  const r = await startRegistry('sqlite', { ...opts.flags, ...(smtp ? { 'smtp-url': smtp.url } : {}) });
  for (const name of opts.users ?? []) await r.user(name);
  const b = await launchBrowser();
  const base = browserUrl(r.url);
  return {
    r,
    b,
    base,
    smtp,
    async signedIn(name, password) {
      const { page } = await b.person();
      const blocked = cspViolations(page);
      await signInThroughForm(page, base, name, password);
      return { page, blocked };
    },
    async close() {
      await b.close();
      await r.stop();
      await smtp?.stop();
    },
  };
}
