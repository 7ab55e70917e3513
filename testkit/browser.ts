import puppeteer, { type Browser } from 'puppeteer-core';

/** Debian's `chromium` (scripts/ensure-system-deps.sh installs it), or CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Chromium from the system package, driven over CDP by puppeteer-core (the dashboard's tests and bench). */
export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Root in a container: no user namespaces for the sandbox. /dev/shm may be small.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
}
