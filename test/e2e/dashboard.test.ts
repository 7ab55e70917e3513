import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimReference } from '../../lib/ownership';
import { startFaultProxy, type FaultProxy } from '../../scripts/chaos/fault-proxy';
import { startLocalStack, type LocalStack } from '../../scripts/local/stack';
import { v1Message } from '../fixtures/events';
import { launchBrowser, openPage, screenshot } from './browser';

/**
 * The fleet dashboard in headless Chromium against npm start's own pieces: SQS -> poller ->
 * DynamoDB Local -> HTTP API (-> streams -> notifier -> feed), the page served by the API. The
 * browser reaches the API through a fault proxy, so that the API can "go away" at the network.
 */
let stack: LocalStack;
let proxy: FaultProxy;
let browser: Browser;

const READER = 'ro-local-key';
const MATCHMAKER = 'mm-local-key';
const WALL = { width: 1920, height: 1080 };
const LAPTOP = { width: 1280, height: 800 };
/** A hang guard for the page to show what the stack already holds (a refresh is 1 s). */
const SHOWN_MS = 30_000;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, env: { STALE_SWEEP_INTERVAL_MS: '600000' } });
  proxy = await startFaultProxy({ target: stack.apiUrl });
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await stack?.stop();
});

async function send(messages: Array<Record<string, unknown>>) {
  for (let i = 0; i < messages.length; i += 10) {
    await stack.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.stack.statusQueueUrl,
        Entries: messages.slice(i, i + 10).map((message, j) => ({ Id: String(i + j), MessageBody: JSON.stringify(message) })),
      }),
    );
  }
}

/** Servers registered through the status queue, `perNode` on each of `nodes`. */
async function registerThroughSqs(prefix: string, subnet: number, nodes: string[], perNode: number, extra: Record<string, unknown> = {}) {
  const sentAt = new Date().toISOString();
  const endpoints: string[] = [];
  const messages = nodes.flatMap((node, n) =>
    Array.from({ length: perNode }, (_, i) => {
      const endpoint = `10.77.${subnet}.${n * perNode + i + 1}:7777`;
      endpoints.push(endpoint);
      return v1Message({ endpoint, node, region: prefix, group: 'g1', podUid: `pod-${endpoint}`, sentAt, labels: {}, ...extra });
    }),
  );
  await send(messages);
  return endpoints;
}

async function api(method: string, path: string, key: string, body?: unknown) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const dashboardUrl = (key: string) => `${proxy.url}/dashboard#key=${encodeURIComponent(key)}&refresh=1`;

/** The status each of `endpoints` shows in the nodes grid ('' for a server not shown). */
const cellStatuses = (page: Page, endpoints: string[]) =>
  page.evaluate((list: string[]) => list.map((e) => document.querySelector(`button[data-endpoint="${e}"]`)?.getAttribute('data-status') ?? ''), endpoints);

async function waitForStatuses(page: Page, endpoints: string[], status: string) {
  await page.waitForFunction(
    (list: string[], wanted: string) => list.every((e) => document.querySelector(`button[data-endpoint="${e}"]`)?.getAttribute('data-status') === wanted),
    { timeout: SHOWN_MS },
    endpoints,
    status,
  );
}

const textOf = (page: Page, selector: string) => page.$eval(selector, (element) => (element as HTMLElement).innerText);

describe('the fleet dashboard in a real browser', () => {
  it('shows servers registered through SQS on their nodes, counted per region and group, with a reader key from the fragment', async () => {
    const { page, problems } = await openPage(browser, WALL);
    const endpoints = await registerThroughSqs('dash-reg', 1, ['dash-node-a', 'dash-node-b'], 3);
    await page.goto(dashboardUrl(READER));
    await waitForStatuses(page, endpoints, 'available');
    // The key left the address bar; it lives in the tab's sessionStorage.
    expect(new URL(page.url()).hash).toBe('#refresh=1');
    expect(await page.evaluate(() => sessionStorage.getItem('gs-dashboard-key'))).toBe(READER);
    const nodes = await page.$$eval('[data-node^="dash-node-"]', (cards) => cards.map((c) => [c.getAttribute('data-node'), c.querySelectorAll('button[data-endpoint]').length]));
    expect(nodes.sort()).toEqual([['dash-node-a', 3], ['dash-node-b', 3]]);
    // Status is also a letter in the cell and words in its label, not colour alone.
    const cell = await page.$eval(`button[data-endpoint="${endpoints[0]}"]`, (b) => ({ text: (b as HTMLElement).innerText.trim(), label: b.getAttribute('aria-label') }));
    expect(cell.text).toBe('A');
    expect(cell.label).toContain('available');
    const row = await page.$$eval('#overview tr', (rows) => rows.map((r) => (r as HTMLElement).innerText.replace(/\s+/g, ' ').trim()).find((t) => t.startsWith('dash-reg')));
    expect(row).toBe('dash-reg g1 6 0 0 0 0 0 6');
    expect(await textOf(page, '#last-updated')).toMatch(/Last updated \d\d:\d\d:\d\d/);
    await screenshot(page, 'servers-from-sqs-1920x1080');
    await page.setViewport(LAPTOP);
    await screenshot(page, 'servers-from-sqs-1280x800');
    expect(problems.errors).toEqual([]);
    await page.close();
  });

  it('shows a claim with its owner and countdown, the pair on its two nodes, and drops it when released', async () => {
    const { page, problems } = await openPage(browser, WALL);
    const endpoints = await registerThroughSqs('dash-claim', 2, ['dash-node-c', 'dash-node-d'], 1);
    await page.goto(dashboardUrl(READER));
    await waitForStatuses(page, endpoints, 'available');

    const claimed = await api('POST', '/claim-gs', MATCHMAKER, { claimId: 'dash-pair-1', count: 2, region: 'dash-claim', leaseSeconds: 120 });
    expect(claimed.status).toBe(200);
    const ref = claimReference('dash-pair-1');
    const row = `tr[data-claim-ref="${ref}"]`;
    await page.waitForSelector(row, { timeout: SHOWN_MS });
    await waitForStatuses(page, endpoints, 'claimed');
    const text = (await textOf(page, row)).replace(/\s+/g, ' ');
    expect(text).toContain('key:matchmaker');
    expect(text).toContain('dash-node-c');
    expect(text).toContain('dash-node-d');
    expect(text).toMatch(/leased/i);
    // A reader sees whose claim it is, never its id.
    expect(text).not.toContain('dash-pair-1');
    // The countdown ticks: the time left shown changes while the page stays.
    const left = await page.$eval(row, (r) => (r.querySelector('[data-countdown]') as HTMLElement | null)?.innerText ?? '');
    expect(left).toMatch(/\d+\s*(s|min)/);
    await page.waitForFunction((selector: string, before: string) => (document.querySelector(`${selector} [data-countdown]`) as HTMLElement | null)?.innerText !== before, { timeout: SHOWN_MS }, row, left);

    // The server's details: its record and its claim, with the lease counting down.
    await page.click(`button[data-endpoint="${endpoints[0]}"]`);
    await page.waitForSelector('#server-detail', { timeout: SHOWN_MS });
    const detail = (await textOf(page, '#server-detail')).replace(/\s+/g, ' ');
    expect(detail).toContain(endpoints[0]);
    expect(detail).toContain('key:matchmaker');
    expect(detail).toMatch(/not confirmed|leased/i);
    expect(detail).toMatch(/lease ends in \d+/i);
    await screenshot(page, 'claim-with-countdown');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('#server-detail'), { timeout: SHOWN_MS });

    // The latest events show the claim (from the notifier, through the feed).
    await page.waitForFunction(
      (list: string[]) => list.every((e) => document.querySelector(`#events tr[data-event-id^="gs:${e}:"][data-event-id$=":gs.claimed"]`) !== null),
      { timeout: SHOWN_MS },
      endpoints,
    );

    expect((await api('POST', '/claims/dash-pair-1/release', MATCHMAKER)).status).toBe(200);
    await page.waitForFunction((selector: string) => !document.querySelector(selector), { timeout: SHOWN_MS }, row);
    await waitForStatuses(page, endpoints, 'available');
    await screenshot(page, 'claim-released');
    expect(problems.errors).toEqual([]);
    await page.close();
  });

  it('marks a node drained by a Spot interruption, and its servers draining', async () => {
    const { page, problems } = await openPage(browser, WALL);
    const endpoints = await registerThroughSqs('dash-drain', 3, ['dash-node-e', 'dash-node-f'], 2, { lifecycle: 'spot' });
    await page.goto(dashboardUrl(READER));
    await waitForStatuses(page, endpoints, 'available');
    expect(await page.$eval('[data-node="dash-node-e"]', (card) => card.getAttribute('data-drained'))).toBe('false');

    await send([{ v: 1, kind: 'node', event: 'draining', node: 'dash-node-e', reason: 'spot-interruption', seq: 1, sentAt: new Date().toISOString() }]);
    await page.waitForSelector('[data-node="dash-node-e"][data-drained="true"]', { timeout: SHOWN_MS });
    await waitForStatuses(page, endpoints.slice(0, 2), 'draining');
    expect(await cellStatuses(page, endpoints.slice(2))).toEqual(['available', 'available']);
    const card = (await textOf(page, '[data-node="dash-node-e"]')).replace(/\s+/g, ' ');
    expect(card).toMatch(/Spot interruption/i);
    expect(await page.$eval('[data-node="dash-node-f"]', (c) => c.getAttribute('data-drained'))).toBe('false');
    await screenshot(page, 'node-drained');
    expect(problems.errors).toEqual([]);
    await page.close();
  });

  it('shows a refused key as a readable 401 and asks for another; the right one then shows the fleet', async () => {
    const { page, problems } = await openPage(browser, LAPTOP, [/401/]);
    const endpoints = await registerThroughSqs('dash-key', 4, ['dash-node-g'], 1);
    await page.goto(dashboardUrl('not-a-key'));
    await page.waitForSelector('#auth-error', { timeout: SHOWN_MS });
    const error = await textOf(page, '#auth-error');
    expect(error).toMatch(/401/);
    expect(error).toMatch(/key/i);
    expect(await page.$('#key-form')).not.toBeNull();
    await screenshot(page, 'refused-key');

    await page.type('#key-input', READER);
    await page.keyboard.press('Enter');
    await waitForStatuses(page, endpoints, 'available');
    expect(await page.$('#auth-error')).toBeNull();
    expect(problems.errors).toEqual([]);
    await page.close();
  });

  it('shows a banner while the API is unreachable, keeps the last data, and clears it when the API is back', async () => {
    const { page, problems } = await openPage(browser, WALL, [/ERR_|Failed to load resource|net::/]);
    const endpoints = await registerThroughSqs('dash-away', 5, ['dash-node-h'], 2);
    await page.goto(dashboardUrl(READER));
    await waitForStatuses(page, endpoints, 'available');
    expect(await page.$('#banner')).toBeNull();

    proxy.startOutage();
    await page.waitForSelector('#banner', { timeout: SHOWN_MS });
    expect(await textOf(page, '#banner')).toMatch(/unreachable/i);
    expect(await cellStatuses(page, endpoints)).toEqual(['available', 'available']);
    await screenshot(page, 'api-unreachable');

    proxy.endOutage();
    await page.waitForFunction(() => !document.querySelector('#banner'), { timeout: SHOWN_MS });
    const refreshes = Number(await page.evaluate(() => document.documentElement.dataset.refreshes));
    await page.waitForFunction((n: number) => Number(document.documentElement.dataset.refreshes) > n, { timeout: SHOWN_MS }, refreshes);
    expect(problems.errors).toEqual([]);
    await page.close();
  });

  it('is reachable by keyboard: arrow keys and Home/End move between servers, Enter opens one, Escape closes it', async () => {
    const { page, problems } = await openPage(browser, LAPTOP);
    const endpoints = await registerThroughSqs('dash-keys', 6, ['dash-node-i', 'dash-node-j'], 3);
    await page.goto(dashboardUrl(READER));
    await waitForStatuses(page, endpoints, 'available');
    // One tab stop for the whole grid, however many servers.
    const tabbable = await page.$$eval('button[data-endpoint]', (cells) => cells.filter((c) => (c as HTMLElement).tabIndex === 0).length);
    expect(tabbable).toBe(1);
    // Only this test's region: its two nodes, in name order.
    await page.select('.filters label:first-child select', 'dash-keys');
    await page.waitForFunction(() => document.querySelectorAll('#nodes [data-node]').length === 2, { timeout: SHOWN_MS });
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-endpoint'));
    await page.focus(`button[data-endpoint="${endpoints[0]}"]`);
    await page.keyboard.press('End');
    expect(await focused()).toBe(endpoints[5]);
    await page.keyboard.press('Home');
    expect(await focused()).toBe(endpoints[0]);
    await page.keyboard.press('ArrowRight');
    expect(await focused()).toBe(endpoints[1]);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#server-detail', { timeout: SHOWN_MS });
    expect(await textOf(page, '#server-detail')).toContain(endpoints[1]);
    await screenshot(page, 'keyboard-detail-1280x800');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('#server-detail'), { timeout: SHOWN_MS });
    expect(await focused()).toBe(endpoints[1]);
    expect(problems.errors).toEqual([]);
    await page.close();
  });
});
