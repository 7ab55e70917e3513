/// <reference lib="dom" />
// The tests evaluate functions in the page: they see the browser's globals.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';

export { launchBrowser } from '../../testkit/browser';

/** Where browser tests save their screenshots (gitignored). */
export const SCREENSHOT_DIR = join(import.meta.dirname, '../../test-output/dashboard');

export interface PageProblems {
  /** Console errors, uncaught exceptions and CSP violations the page reported. */
  errors: string[];
}

/**
 * A new page of `size`, collecting what would be a bug of the page: console errors, uncaught
 * exceptions, and Content-Security-Policy violations. `expectedErrors` are console errors the test
 * provokes on purpose (a refused key, the API going away: the browser logs the failed request).
 */
export async function openPage(browser: Browser, size: { width: number; height: number }, expectedErrors: RegExp[] = []): Promise<{ page: Page; problems: PageProblems }> {
  const page = await browser.newPage();
  await page.setViewport(size);
  const problems: PageProblems = { errors: [] };
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = `${message.text()} ${message.location()?.url ?? ''}`;
    if (!expectedErrors.some((pattern) => pattern.test(text))) problems.errors.push(text);
  });
  page.on('pageerror', (error) => problems.errors.push(`pageerror: ${(error as Error).message}`));
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return { page, problems };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`) as `${string}.png`;
  await page.screenshot({ path, fullPage: false });
  return path;
}
