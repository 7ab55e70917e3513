import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Browser, Page } from 'puppeteer-core';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeConfirm } from '../../functions/confirm-claim';
import { makeHandler as makeNotifier } from '../../functions/notifier';
import { decideGameServerWrite, lifecycleSettings } from '../../lib/game-servers/lifecycle';
import { applyNodeEvent } from '../../lib/ingestion/apply-node-event';
import type { GameServerLifecycleEvent, NodeEvent } from '../../lib/pods/events';
import { sleep } from '../../lib/backoff';
import { startHttpServer } from '../../scripts/local/http-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services';
import { startStreamEventSource } from '../../scripts/local/stream-event-source';
import { createWebhookBus, DEFAULT_LOCAL_WEBHOOK_SECRET } from '../../scripts/local/webhook-bus';
import type { GameServerItem } from '../../schemas/items';
import { API_KEYS_ENV, KEYS } from '../../testkit/api-keys';
import { launchBrowser } from '../../testkit/browser';
import type { BenchContext } from '../lib/context';
import { createStage, type BenchStage } from '../lib/env';
import { invokeHandler } from '../lib/invoke';
import { runClosedLoop } from '../lib/load';
import { batchPut, nextEndpoint } from '../lib/pool';
import { round, summarize, type LatencySummary } from '../lib/stats';
import { BENCH_LEASE_SECONDS, claimOutcome } from './claims';

const REGIONS = ['us-west', 'eu-central'] as const;
const GROUPS = ['dash-casual', 'dash-ranked', 'dash-custom'] as const;
const POOLS = REGIONS.flatMap((region) => GROUPS.map((group) => ({ region, group })));
const CLAIM_CONCURRENCY = 16;
/**
 * The pair claims stop here even when fewer than the profile's were made: on a machine whose cores
 * other work keeps busy they run several times slower, and the setup must stay about a minute.
 */
const CLAIM_BUDGET_MS = 35_000;
/** The page's refresh interval (its fragment's `refresh`). */
const PAGE_REFRESH_SECONDS = 2;
/** The fleet route keeps one reading per function instance this long (lib/game-servers/fleet.ts). */
const FLEET_CACHE_MS = 2_000;
/** Past the fleet route's cache, with room for the clock's granularity. */
const PAST_FLEET_CACHE_MS = FLEET_CACHE_MS + 300;
/** Hang guard of each wait on the page; never a timing target. */
const PAGE_WAIT_MS = 120_000;
/** A long task this long after the first render is a visible freeze of the page. */
const FREEZE_MS = 200;
const VIEWPORTS = [
  { width: 1920, height: 1080 },
  { width: 1280, height: 800 },
] as const;
/** Between two pair claims of the churn while the page is open: a few claims per refresh. */
const CHURN_PAUSE_MS = 250;

/** What the dashboard scenario measured (one row per run). */
export interface DashboardRow {
  servers: number;
  nodes: number;
  /** Pair claims won while setting up (count 2, distinct nodes), and how many of them were confirmed. */
  pairClaims: number;
  confirmed: number;
  claimMisses: number;
  claimErrors: number;
  firstClaimError?: string;
  drainedNodes: number;
  /** Servers the drains moved to draining. */
  drainedServers: number;
  setupSeconds: number;
  fleetRoute: FleetRouteFigures;
  page: PageFigures;
  /** Pair claims made while the page was open (so that refreshes render changed data). */
  churnClaims: number;
  screenshots: string[];
}

export interface FleetRouteFigures {
  /** Answers read from DynamoDB by this request (a new generatedAt). */
  uncached: LatencySummary;
  /** Answers served from the instance's reading of the last 2 s (the same generatedAt as before). */
  cached: LatencySummary;
  bodyBytes: number;
  gzipBytes: number;
  serversReturned: number;
}

export interface PageFigures {
  firstRenderMs: number;
  firstRenderRenderMs: number;
  /** Navigation start to every node card drawn (the grid is drawn in passes after the first render). */
  gridCompleteMs: number;
  refresh: LatencySummary;
  refreshRender: LatencySummary;
  /** Longest long task of the whole visit, and of the part after the first render. */
  longestTaskMs: number;
  longestTaskAfterFirstRenderMs: number;
  tasksOver200MsAfterFirstRender: number;
  heapUsedMb: number;
  domElements: number;
  /** Console errors and uncaught exceptions the page reported. */
  pageErrors: string[];
}

/**
 * The dashboard on a fleet of realistic size: servers loaded as the poller would write them, pair
 * claims (half confirmed) and node drains made through the real handlers and ingestion, then
 * GET /fleet alone through the local HTTP server (cached and uncached readings told apart by the
 * answer's generatedAt), then the page itself in headless Chromium: first render, refreshes, long
 * tasks, heap and DOM size, and screenshots.
 */
export async function runDashboard(ctx: BenchContext, options: { outDir: string }): Promise<DashboardRow[]> {
  const spec = ctx.profile.dashboard;
  const stage = await createStage(ctx.env, 'bench-dashboard', { API_KEYS: API_KEYS_ENV });
  let server: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  let browser: Browser | undefined;
  let notifications: { stop(): Promise<void> } | undefined;
  try {
    const setupStarted = performance.now();
    await loadFleet(ctx, stage);
    // The notifier, as npm start runs it, from here on: the claims, drains and churn below reach
    // the page's latest events through the recent-events feed (the load itself is not told).
    notifications = startNotifier(ctx, stage);
    const claims = await claimPairs(ctx, stage);
    const drains = await drainNodes(ctx, stage);
    const setupSeconds = round((performance.now() - setupStarted) / 1000, 1);
    ctx.log(`dashboard: setup done in ${setupSeconds} s`);
    server = await startHttpServer(stage.deps, { port: 0 });
    const fleetRoute = await measureFleetRoute(ctx, server.url);
    browser = await launchBrowser();
    const churn = startChurn(stage);
    let page: PageFigures;
    let screenshots: string[];
    try {
      ({ page, screenshots } = await measurePage(ctx, browser, server.url, options.outDir));
    } finally {
      await churn.stop();
    }
    const row: DashboardRow = {
      servers: spec.servers,
      nodes: spec.servers / spec.serversPerNode,
      ...claims,
      drainedNodes: spec.drainedNodes,
      drainedServers: drains,
      setupSeconds,
      fleetRoute,
      page,
      churnClaims: churn.claims(),
      screenshots,
    };
    ctx.log(describeDashboard(row));
    return [row];
  } finally {
    await browser?.close();
    await server?.close();
    await notifications?.stop();
    await stage.destroy();
  }
}

/** The notifier on the game-server table's stream from its latest record, publishing to a bus with no subscriber. */
function startNotifier(ctx: BenchContext, stage: BenchStage): { stop(): Promise<void> } {
  const logger = new Logger({ serviceName: 'gs-inventory-bench', logLevel: 'SILENT' });
  const bus = createWebhookBus({ subscribers: [], secret: DEFAULT_LOCAL_WEBHOOK_SECRET, logger });
  const streams = new DynamoDBStreamsClient({ endpoint: ctx.env.services.dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const source = startStreamEventSource({
    streams,
    streamArn: stage.stack.streamArns[stage.config.tables.gameServers]!,
    handler: makeNotifier(stage.newDeps().deps, bus),
    functionName: 'notifier',
    startingPosition: 'LATEST',
  });
  return {
    stop: async () => {
      await source.stop();
      await bus.stop();
      streams.destroy();
    },
  };
}

const nodeName = (index: number) => `ip-10-${Math.floor(index / 250)}-${index % 250}.bench.internal`;
/** Each node belongs to one pool (region and group), the pools taking turns. */
const poolOfNode = (index: number) => POOLS[index % POOLS.length]!;

/** The records the poller writes for each server's first `ready` event, built by its own pure decision. */
function fleetRecords(servers: number, serversPerNode: number, settings: ReturnType<typeof lifecycleSettings>): GameServerItem[] {
  const now = Date.now();
  const items: GameServerItem[] = [];
  for (let i = 0; i < servers; i++) {
    const nodeIndex = Math.floor(i / serversPerNode);
    const { region, group } = poolOfNode(nodeIndex);
    const endpoint = nextEndpoint();
    const event: GameServerLifecycleEvent = { kind: 'game-server', event: 'ready', endpoint, region, group, node: nodeName(nodeIndex), podUid: `pod-${endpoint}`, seq: 1, sentAt: now, source: 'v1' };
    const decision = decideGameServerWrite(undefined, event, now, settings);
    if (decision.kind !== 'write') throw new Error(`a first ready event for ${endpoint} was not written`);
    items.push(decision.item);
  }
  return items;
}

async function loadFleet(ctx: BenchContext, stage: BenchStage): Promise<void> {
  const { servers, serversPerNode } = ctx.profile.dashboard;
  const started = performance.now();
  await batchPut(ctx.env.admin, stage.config.tables.gameServers, fleetRecords(servers, serversPerNode, lifecycleSettings(stage.config)));
  ctx.log(`dashboard: ${servers} servers on ${servers / serversPerNode} nodes loaded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const claimBody = (claimId: string, pool: (typeof POOLS)[number]) => ({ claimId, ...pool, count: 2, distinctNodes: true, leaseSeconds: BENCH_LEASE_SECONDS });
const confirmRoute = (claimId: string) => ({ method: 'POST', route: '/claims/{claimId}/confirm', pathParameters: { claimId } });

/** Pair claims through claim-gs at concurrency 16, the pools taking turns; every second one confirmed. */
async function claimPairs(ctx: BenchContext, stage: BenchStage): Promise<Pick<DashboardRow, 'pairClaims' | 'confirmed' | 'claimMisses' | 'claimErrors' | 'firstClaimError'>> {
  const claim = makeClaim(stage.deps);
  const confirm = makeConfirm(stage.deps);
  const started = performance.now();
  let confirmed = 0;
  const result = await runClosedLoop({
    concurrency: CLAIM_CONCURRENCY,
    durationMs: CLAIM_BUDGET_MS,
    maxOps: ctx.profile.dashboard.pairClaims,
    op: async (_worker, seq) => {
      const claimId = `dash-pair-${seq}`;
      const won = claimOutcome(await invokeHandler(claim, 'claim-gs', { method: 'POST', route: '/claim-gs', body: claimBody(claimId, POOLS[seq % POOLS.length]!) }));
      if (won.kind === 'miss') return 'miss';
      if (seq % 2 === 0) {
        const answer = await invokeHandler(confirm, 'confirm-claim', confirmRoute(claimId));
        if (answer.status !== 200) throw new Error(`confirm-claim ${claimId} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        confirmed++;
      }
      return 'ok';
    },
  });
  const budgetNote = result.completed < ctx.profile.dashboard.pairClaims ? `, stopped by the ${CLAIM_BUDGET_MS / 1000} s budget` : '';
  ctx.log(`dashboard: ${result.ok} pair claims (${confirmed} confirmed, ${result.misses} misses, ${result.errors} errors) in ${((performance.now() - started) / 1000).toFixed(1)} s${budgetNote}`);
  return {
    pairClaims: result.ok,
    confirmed,
    claimMisses: result.misses,
    claimErrors: result.errors,
    ...(result.firstError ? { firstClaimError: result.firstError } : {}),
  };
}

/** Nodes spread over the fleet drained through the ingestion path: a spot interruption for half, by hand for the rest. */
async function drainNodes(ctx: BenchContext, stage: BenchStage): Promise<number> {
  const { servers, serversPerNode, drainedNodes } = ctx.profile.dashboard;
  const nodes = servers / serversPerNode;
  const stride = Math.floor(nodes / drainedNodes);
  let moved = 0;
  for (let k = 0; k < drainedNodes; k++) {
    const index = k * stride + 1;
    const event: NodeEvent = {
      kind: 'node',
      event: 'draining',
      node: nodeName(index),
      region: poolOfNode(index).region,
      reason: k % 2 === 0 ? 'spot-interruption' : 'manual',
      sentAt: Date.now(),
      seq: 1,
    };
    const outcome = await applyNodeEvent(stage.deps, event);
    moved += outcome.outcome === 'ignored' ? 0 : (outcome.sweep?.changed ?? 0);
  }
  ctx.log(`dashboard: ${drainedNodes} nodes drained (${moved} servers moved to draining)`);
  return moved;
}

interface FleetAnswer {
  ms: number;
  generatedAt: string;
  body: Buffer;
  servers: number;
}

async function getFleet(url: string): Promise<FleetAnswer> {
  const started = performance.now();
  const response = await fetch(`${url}/fleet`, { headers: { authorization: `Bearer ${KEYS.reader}` } });
  const body = Buffer.from(await response.arrayBuffer());
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`GET /fleet answered ${response.status}: ${body.toString('utf8').slice(0, 300)}`);
  const parsed = JSON.parse(body.toString('utf8')) as { generatedAt: string; servers: unknown[] };
  return { ms, generatedAt: parsed.generatedAt, body, servers: parsed.servers.length };
}

/**
 * GET /fleet one request at a time with the reader key: pairs of requests, the first past the
 * route's 2 s cache (a reading from DynamoDB), the second right after it (the instance's cached
 * reading). Each answer is classed by its generatedAt, not by when it was sent: a new one is a
 * fresh reading. The first request (a cold start of the route's instance) is not recorded.
 */
async function measureFleetRoute(ctx: BenchContext, url: string): Promise<FleetRouteFigures> {
  let previous = await getFleet(url);
  const uncached: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < ctx.profile.dashboard.fleetRequests; i++) {
    if (i % 2 === 0) await sleep(PAST_FLEET_CACHE_MS);
    const answer = await getFleet(url);
    (answer.generatedAt === previous.generatedAt ? cached : uncached).push(answer.ms);
    previous = answer;
  }
  const figures: FleetRouteFigures = {
    uncached: summarize(uncached),
    cached: summarize(cached),
    bodyBytes: previous.body.length,
    gzipBytes: gzipSync(previous.body).length,
    serversReturned: previous.servers,
  };
  ctx.log(
    `dashboard: GET /fleet (${figures.serversReturned} servers) uncached p50 ${figures.uncached.p50} ms max ${figures.uncached.max} ms (${uncached.length}), ` +
      `cached p50 ${figures.cached.p50} ms max ${figures.cached.max} ms (${cached.length}); body ${kb(figures.bodyBytes)} KB, gzip ${kb(figures.gzipBytes)} KB`,
  );
  return figures;
}

const kb = (bytes: number) => (bytes / 1024).toFixed(0);

/**
 * Pair claims one at a time with a pause while the page is open, so that each refresh has
 * something new to render, as a live fleet would; a miss (a pool used up) is fine.
 */
function startChurn(stage: BenchStage): { claims(): number; stop(): Promise<void> } {
  const claim = makeClaim(stage.deps);
  let stopped = false;
  let won = 0;
  const loop = (async () => {
    for (let seq = 0; !stopped; seq++) {
      const claimId = `dash-churn-${seq}`;
      // A failed claim only makes one refresh less different: the page is what is measured here.
      const answer = await invokeHandler(claim, 'claim-gs', { method: 'POST', route: '/claim-gs', body: claimBody(claimId, POOLS[seq % POOLS.length]!) }).catch(() => undefined);
      if (answer?.status === 200) won++;
      await sleep(CHURN_PAUSE_MS);
    }
  })();
  return {
    claims: () => won,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

type LongTask = { start: number; duration: number };

/**
 * The few browser globals the page functions below use, typed here: the bench compiles without
 * the DOM library. These functions run in the page (serialized by puppeteer), never in Node.
 */
interface PageGlobals {
  document: { documentElement: { dataset: Record<string, string | undefined> }; getElementsByTagName(name: string): { length: number } };
  requestAnimationFrame(callback: () => void): number;
  PerformanceObserver: new (callback: (list: { getEntries(): LongTask[] & Array<{ startTime: number }> }) => void) => {
    observe(options: { type: string; buffered: boolean }): void;
  };
  benchLongTasks: LongTask[];
}

/** Collects every long task of the page from its first script on (buffered: none is missed). */
function observeLongTasks(): void {
  const page = globalThis as unknown as PageGlobals;
  page.benchLongTasks = [];
  new page.PerformanceObserver((list) => {
    for (const entry of list.getEntries()) page.benchLongTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
}

/** The page opened with the reader key, measured once its first render and the refreshes after it are committed. */
async function measurePage(ctx: BenchContext, browser: Browser, url: string, outDir: string): Promise<{ page: PageFigures; screenshots: string[] }> {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(`pageerror: ${(error as Error).message}`));
  await page.setViewport(VIEWPORTS[0]);
  await page.evaluateOnNewDocument(observeLongTasks);
  // The first render then includes a reading from DynamoDB, not the one the route measurement left cached.
  await sleep(PAST_FLEET_CACHE_MS);
  const refreshes = ctx.profile.dashboard.refreshes;
  ctx.log(`dashboard: opening the page in headless Chromium (${VIEWPORTS[0].width}×${VIEWPORTS[0].height}), refresh every ${PAGE_REFRESH_SECONDS} s`);
  await page.goto(`${url}/dashboard#key=${encodeURIComponent(KEYS.reader)}&refresh=${PAGE_REFRESH_SECONDS}`, { waitUntil: 'domcontentloaded' });
  await waitOnPage(page, pageErrors, 'the first render', () => performance.getEntriesByName('dashboard:first-render').length > 0, 0);
  await waitOnPage(page, pageErrors, 'every node card', () => performance.getEntriesByName('dashboard:grid-complete').length > 0, 0);
  await waitOnPage(
    page,
    pageErrors,
    `${refreshes} refreshes`,
    (renders) => Number((globalThis as unknown as PageGlobals).document.documentElement.dataset.refreshes ?? 0) >= renders,
    refreshes + 1,
  );
  const figures = await readPageFigures(page, pageErrors);
  const screenshots = await takeScreenshots(page, outDir);
  await page.close();
  return { page: figures, screenshots };
}

async function waitOnPage(page: Page, pageErrors: string[], what: string, done: (renders: number) => boolean, renders: number): Promise<void> {
  try {
    await page.waitForFunction(done, { timeout: PAGE_WAIT_MS, polling: 100 }, renders);
  } catch (error) {
    throw new Error(`dashboard: no ${what} within ${PAGE_WAIT_MS / 1000} s (${(error as Error).message}); page errors: ${pageErrors.join(' | ') || 'none'}`);
  }
}

async function readPageFigures(page: Page, pageErrors: string[]): Promise<PageFigures> {
  // No named helper inside: tsx wraps named functions in a helper the page does not have.
  const measured = await page.evaluate(() => {
    const first = performance.getEntriesByName('dashboard:first-render')[0]!;
    return {
      firstRenderMs: first.duration,
      firstRenderEnd: first.startTime + first.duration,
      firstRenderRenderMs: performance.getEntriesByName('dashboard:first-render-render')[0]?.duration ?? Number.NaN,
      gridCompleteMs: performance.getEntriesByName('dashboard:grid-complete')[0]?.duration ?? Number.NaN,
      refresh: performance.getEntriesByName('dashboard:refresh').map((entry) => entry.duration),
      refreshRender: performance.getEntriesByName('dashboard:refresh-render').map((entry) => entry.duration),
      longTasks: (globalThis as unknown as PageGlobals).benchLongTasks,
      domElements: (globalThis as unknown as PageGlobals).document.getElementsByTagName('*').length,
    };
  });
  const metrics = await page.metrics();
  const afterFirstRender = measured.longTasks.filter((task) => task.start >= measured.firstRenderEnd).map((task) => task.duration);
  return {
    firstRenderMs: round(measured.firstRenderMs, 1),
    firstRenderRenderMs: round(measured.firstRenderRenderMs, 1),
    gridCompleteMs: round(measured.gridCompleteMs, 1),
    refresh: summarize(measured.refresh),
    refreshRender: summarize(measured.refreshRender),
    longestTaskMs: round(Math.max(0, ...measured.longTasks.map((task) => task.duration)), 1),
    longestTaskAfterFirstRenderMs: round(Math.max(0, ...afterFirstRender), 1),
    tasksOver200MsAfterFirstRender: afterFirstRender.filter((duration) => duration > FREEZE_MS).length,
    heapUsedMb: round((metrics.JSHeapUsedSize ?? Number.NaN) / 2 ** 20, 1),
    domElements: measured.domElements,
    pageErrors: [...pageErrors],
  };
}

/** The viewport at each size; the page re-lays itself out on resize, without waiting for new data. */
async function takeScreenshots(page: Page, outDir: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const paths: string[] = [];
  for (const viewport of VIEWPORTS) {
    await page.setViewport(viewport);
    await page.evaluate(() => {
      const browser = globalThis as unknown as PageGlobals;
      return new Promise<void>((resolve) => browser.requestAnimationFrame(() => browser.requestAnimationFrame(() => resolve())));
    });
    const path = join(outDir, `dashboard-${viewport.width}x${viewport.height}.png`) as `${string}.png`;
    await page.screenshot({ path, fullPage: false });
    paths.push(path);
  }
  return paths;
}

function describeDashboard(row: DashboardRow): string {
  const p = row.page;
  return (
    `dashboard: first render ${p.firstRenderMs} ms (render ${p.firstRenderRenderMs} ms), refresh p50 ${p.refresh.p50} / max ${p.refresh.max} ms ` +
    `(render p50 ${p.refreshRender.p50} / max ${p.refreshRender.max} ms, ${p.refresh.count} refreshes), longest task ${p.longestTaskMs} ms, ` +
    `${p.tasksOver200MsAfterFirstRender} tasks > ${FREEZE_MS} ms after the first render, heap ${p.heapUsedMb} MB, ${p.domElements} DOM elements` +
    (p.pageErrors.length ? `; PAGE ERRORS: ${p.pageErrors.join(' | ')}` : '')
  );
}
