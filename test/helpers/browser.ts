// A real browser for the web UI tests: Playwright driving the machine's Chromium (Debian's `chromium` package; CI
// installs it). Each test file launches one browser with a fresh temporary profile and opens a new context (its own
// cookie jar) per simulated person. Screenshots go to a folder that is kept after the run so they can be looked at.
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.BULWARK_CHROMIUM ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type TestBrowser = {
  browser: Browser;
  /** where screenshots are written (BULWARK_SCREENSHOTS, or a new temporary folder). */
  screenshots: string;
  /** A new person: a context with its own cookies, and a page in it. */
  person(): Promise<{ context: BrowserContext; page: Page }>;
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
};

export async function launchBrowser(): Promise<TestBrowser> {
  // launch() gives the browser a new temporary user-data-dir of its own and deletes it on close.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const screenshots =
    process.env.BULWARK_SCREENSHOTS ?? (await mkdtemp(path.join(os.tmpdir(), 'bulwark-screenshots-')));
  await mkdir(screenshots, { recursive: true });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    screenshots,
    async person() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
      context.setDefaultTimeout(10_000);
      contexts.push(context);
      return { context, page: await context.newPage() };
    },
    async screenshot(page, name) {
      const file = path.join(screenshots, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
    },
  };
}

/** The registry's URL as a browser should use it: localhost, so cookies and same-site rules behave as for a real host name. */
export const browserUrl = (registryUrl: string): string => registryUrl.replace('://127.0.0.1:', '://localhost:');

/** Collects what Chromium reports on the page's console when the Content-Security-Policy blocks something. */
export function cspViolations(page: Page): string[] {
  const blocked: string[] = [];
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) blocked.push(m.text());
  });
  return blocked;
}

/** Signs in through the sign-in form and waits for the account page it lands on. */
export async function signInThroughForm(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/-/web/signin`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('form.stack button[type=submit]');
  await page.waitForURL(`${base}/-/web/account`);
}
