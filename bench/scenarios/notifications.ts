import { performance } from 'node:perf_hooks';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { Logger } from '@aws-lambda-powertools/logger';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeConfirm } from '../../functions/confirm-claim';
import { makeHandler as makeNotifier } from '../../functions/notifier';
import { makeHandler as makeRelease } from '../../functions/release-claim';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services';
import { startStreamEventSource, type StreamEventSource } from '../../scripts/local/stream-event-source';
import { createWebhookBus, DEFAULT_LOCAL_WEBHOOK_SECRET, type WebhookBus } from '../../scripts/local/webhook-bus';
import { startWebhookReceiver, type ReceivedCloudEvent, type WebhookReceiver } from '../../scripts/local/webhook-receiver';
import { poolGroup } from '../lib/claim-run';
import { describeRun, type BenchContext, type NotificationFacts, type RunRow } from '../lib/context';
import { createStage, type BenchStage } from '../lib/env';
import type { JsonResponse } from '../lib/http-client';
import { invokeHandler } from '../lib/invoke';
import { runClosedLoop } from '../lib/load';
import { BENCH_REGION, registerPool } from '../lib/pool';
import { round, summarize, type LatencySummary } from '../lib/stats';
import { BENCH_LEASE_SECONDS, claimOutcome } from './claims';

/**
 * The stream event source's settings, passed explicitly so that the report can name them: its
 * defaults, which `npm start` runs with (the batch size is the notifier's mapping in
 * infra/functions.cjs). The poll interval is the wait after a GetRecords that returned nothing:
 * an idle stream is read at most every 250 ms; a busy one without pause.
 */
export const NOTIFY_POLL_INTERVAL_MS = 250;
export const NOTIFY_BATCH_SIZE = 100;
/** How long the stream and the bus may take to hand over what a run wrote before the run fails. */
const SETTLE_TIMEOUT_MS = 120_000;

/** The events of one claim -> confirm -> release cycle, in the order they happen to its server. */
export const CYCLE_EVENT_TYPES = ['gs.claimed', 'gs.busy', 'gs.released', 'gs.available'] as const;
/** Rank within one record version: release writes gs.released and gs.available with the same sequence. */
const RANK: Record<string, number> = Object.fromEntries(CYCLE_EVENT_TYPES.map((type, i) => [type, i]));

const ALL = 'all';
const eventKey = (type: string, subject: string | undefined, claimId: unknown) => `${type} ${subject ?? '-'} ${String(claimId ?? '-')}`;
const dataOf = (event: ReceivedCloudEvent) => (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<string, unknown>;

/**
 * What the webhook receiver got, in the order it got it: the first receipt of each event id (with
 * the receiver's clock), duplicates (an id again) and, per server (subject), events that arrived
 * after a later one: a later sequence, or for the two events of one write, the later of the two.
 */
class Receipts {
  readonly first = new Map<string, { event: ReceivedCloudEvent; at: number }>();
  /** `gs:<endpoint>:<version>` (an event id without its type) -> Date.now() when the stream source handed that record to the notifier. */
  readonly handedToNotifier = new Map<string, number>();
  duplicates = 0;
  outOfOrder = 0;
  lastAt = 0;
  private readonly newest = new Map<string, { sequence: number; rank: number }>();

  record(event: ReceivedCloudEvent, at: number): void {
    if (this.first.has(event.id)) {
      this.duplicates++;
      return;
    }
    this.first.set(event.id, { event, at });
    this.lastAt = at;
    const subject = event.subject ?? '-';
    const position = { sequence: Number(dataOf(event).sequence), rank: RANK[event.type] ?? 0 };
    const newest = this.newest.get(subject);
    if (newest && (position.sequence < newest.sequence || (position.sequence === newest.sequence && position.rank <= newest.rank))) {
      this.outOfOrder++;
      return;
    }
    this.newest.set(subject, position);
  }

  /** Forgets everything (between runs, once the stream and the bus have settled). */
  reset(): void {
    this.first.clear();
    this.handedToNotifier.clear();
    this.newest.clear();
    this.duplicates = 0;
    this.outOfOrder = 0;
    this.lastAt = 0;
  }
}

/** Counters of the stream event source and the bus, for one run's share of them. */
interface PipelineCounts {
  batches: number;
  failedRecords: number;
  discardedRecords: number;
  failedAttempts: number;
  deadLettered: number;
}

/**
 * Notifications as `npm start` runs them, on the bench stage: the game-server table's stream read
 * by the local stream event source (Lambda's semantics) into the real notifier handler, publishing
 * to the local webhook bus, which delivers signed webhooks to a receiver on 127.0.0.1 that
 * verifies each signature and records the event with its time of receipt.
 */
interface Pipeline {
  receipts: Receipts;
  counts(): PipelineCounts;
  /** True once every change made before the call is published and every delivery settled; false on timeout. */
  settle(): Promise<boolean>;
  stop(): Promise<void>;
}

async function startPipeline(ctx: BenchContext, stage: BenchStage): Promise<Pipeline> {
  const table = stage.config.tables.gameServers;
  const streamArn = stage.stack.streamArns[table];
  if (!streamArn) throw new Error(`table ${table} has no stream`);
  const receipts = new Receipts();
  const receiver: WebhookReceiver = await startWebhookReceiver({
    port: 0,
    secret: DEFAULT_LOCAL_WEBHOOK_SECRET,
    onEvent: (event) => receipts.record(event, Date.now()),
  });
  const logger = new Logger({ serviceName: 'gs-inventory-bench', logLevel: 'SILENT' });
  const subscriber = 'bench receiver';
  const bus: WebhookBus = createWebhookBus({ subscribers: [{ url: receiver.url, name: subscriber }], secret: DEFAULT_LOCAL_WEBHOOK_SECRET, logger });
  const streams = new DynamoDBStreamsClient({ endpoint: ctx.env.services.dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const counted = { batches: 0, failedRecords: 0, discardedRecords: 0 };
  const notifier = makeNotifier(stage.newDeps().deps, bus);
  const source: StreamEventSource = startStreamEventSource({
    streams,
    streamArn,
    // The notifier itself, with the time each record reached it noted (splits the latency in two).
    handler: (event, context) => {
      const at = Date.now();
      for (const record of event.Records) {
        const image = record.dynamodb?.NewImage;
        if (image?.endpoint?.S && image.version?.N) receipts.handedToNotifier.set(`gs:${image.endpoint.S}:${image.version.N}`, at);
      }
      return notifier(event, context);
    },
    functionName: 'notifier',
    batchSize: NOTIFY_BATCH_SIZE,
    pollIntervalMs: NOTIFY_POLL_INTERVAL_MS,
    onBatch: ({ size, failed, discarded }) => {
      if (size > 0) counted.batches++;
      counted.failedRecords += failed;
      counted.discardedRecords += discarded ?? 0;
    },
  });
  return {
    receipts,
    counts: () => {
      const stats = bus.stats()[subscriber];
      return { ...counted, failedAttempts: stats?.failedAttempts ?? 0, deadLettered: stats?.deadLettered ?? 0 };
    },
    settle: async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), SETTLE_TIMEOUT_MS)));
      try {
        return await Promise.race([source.drain().then(() => bus.drain()).then(() => true), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    stop: async () => {
      await source.stop();
      await bus.stop();
      await receiver.close();
      streams.destroy();
    },
  };
}

/** One claimer's function instances (as Lambda gives each concurrent request its own). */
function instances(stage: BenchStage) {
  return { claim: makeClaim(stage.deps), confirm: makeConfirm(stage.deps), release: makeRelease(stage.deps) };
}
type Instances = ReturnType<typeof instances>;

const claimRoute = (claimId: string, action: 'confirm' | 'release') => ({ method: 'POST', route: `/claims/{claimId}/${action}`, pathParameters: { claimId } });

function answered(response: JsonResponse, what: string): JsonResponse {
  if (response.status !== 200) throw new Error(`${what} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response;
}

/** What a run's writes mean, and when the client saw each write's request resolve. */
class ExpectedEvents {
  /** eventKey -> the claim, and Date.now() when the request that made the write resolved. */
  readonly events = new Map<string, { claimId: string; resolvedAt: number }>();
  /** Claims whose cycle failed on the way: whether their last write applied is unknown, so none of their events is counted. */
  readonly uncertain = new Set<string>();
  cycles = 0;

  expect(types: readonly string[], endpoint: string, claimId: string, resolvedAt: number): void {
    for (const type of types) this.events.set(eventKey(type, endpoint, claimId), { claimId, resolvedAt });
  }
}

/**
 * One claim -> confirm -> release cycle through the handlers; each write's events are expected
 * once its request answered 200 (a miss, 409 gs.none_available, writes nothing).
 */
async function cycle(handlers: Instances, group: string, claimId: string, expected: ExpectedEvents, parts: Record<string, number[]>): Promise<'ok' | 'miss'> {
  try {
    let t0 = performance.now();
    const won = claimOutcome(
      await invokeHandler(handlers.claim, 'claim-gs', { method: 'POST', route: '/claim-gs', body: { claimId, region: BENCH_REGION, group, leaseSeconds: BENCH_LEASE_SECONDS } }),
    );
    parts['claim-gs']!.push(performance.now() - t0);
    if (won.kind === 'miss') return 'miss';
    const endpoint = won.servers[0]!.endpoint;
    expected.expect(['gs.claimed'], endpoint, claimId, Date.now());
    t0 = performance.now();
    answered(await invokeHandler(handlers.confirm, 'confirm-claim', claimRoute(claimId, 'confirm')), `confirm-claim ${claimId}`);
    parts['confirm-claim']!.push(performance.now() - t0);
    expected.expect(['gs.busy'], endpoint, claimId, Date.now());
    t0 = performance.now();
    const released = answered(await invokeHandler(handlers.release, 'release-claim', claimRoute(claimId, 'release')), `release-claim ${claimId}`);
    parts['release-claim']!.push(performance.now() - t0);
    const returned = released.body?.released as string[] | undefined;
    if (returned?.length !== 1 || returned[0] !== endpoint) throw new Error(`release-claim ${claimId} returned ${JSON.stringify(returned)}, not [${endpoint}]`);
    expected.expect(['gs.released', 'gs.available'], endpoint, claimId, Date.now());
    expected.cycles++;
    return 'ok';
  } catch (error) {
    expected.uncertain.add(claimId);
    throw error;
  }
}

/** The events received against the events expected, and their latencies. */
function compare(receipts: Receipts, expected: ExpectedEvents) {
  const latency = new Map<string, number[]>([[ALL, []]]);
  const afterResolve = new Map<string, number[]>([[ALL, []]]);
  const toNotifier: number[] = [];
  const notifierToReceipt: number[] = [];
  const push = (map: Map<string, number[]>, type: string, value: number) => {
    map.get(ALL)!.push(value);
    const list = map.get(type);
    if (list) list.push(value);
    else map.set(type, [value]);
  };
  let received = 0;
  let unexpected = 0;
  let count = 0;
  for (const { claimId } of expected.events.values()) if (!expected.uncertain.has(claimId)) count++;
  for (const { event, at } of receipts.first.values()) {
    const claimId = dataOf(event).claimId;
    if (typeof claimId === 'string' && expected.uncertain.has(claimId)) continue;
    const write = expected.events.get(eventKey(event.type, event.subject, claimId));
    if (write === undefined) {
      unexpected++;
      continue;
    }
    received++;
    const time = Date.parse(event.time ?? '');
    push(latency, event.type, at - time);
    push(afterResolve, event.type, at - write.resolvedAt);
    const handedAt = receipts.handedToNotifier.get(event.id.slice(0, event.id.lastIndexOf(':')));
    if (handedAt !== undefined) {
      toNotifier.push(handedAt - time);
      notifierToReceipt.push(at - handedAt);
    }
  }
  const summaries = (map: Map<string, number[]>) => Object.fromEntries([...map].map(([type, values]) => [type, summarize(values)])) as Record<string, LatencySummary>;
  return {
    expected: count,
    received,
    lost: count - received,
    unexpected,
    latencyByType: summaries(latency),
    afterResolveByType: summaries(afterResolve),
    split: { writeToNotifier: summarize(toNotifier), notifierToReceipt: summarize(notifierToReceipt) },
  };
}

/**
 * Notification latency: claim -> confirm -> release cycles through the real handlers, in a closed
 * loop at each concurrency, while the real notifier turns the game-server table's stream into
 * webhooks delivered to a receiver on this machine. Each event is timed from the write that
 * caused it to its verified receipt, and every event is accounted for: each cycle's server must
 * be told gs.claimed, gs.busy, gs.released and gs.available exactly, in order.
 */
export async function runNotifications(ctx: BenchContext): Promise<RunRow[]> {
  const stage = await createStage(ctx.env, 'bench-notify');
  const rows: RunRow[] = [];
  let pipeline: Pipeline | undefined;
  try {
    pipeline = await startPipeline(ctx, stage);
    await warmUp(ctx, stage, pipeline);
    for (const concurrency of ctx.profile.notifications.concurrencies) rows.push(await measureRun(ctx, stage, pipeline, concurrency));
    return rows;
  } finally {
    await pipeline?.stop();
    await stage.destroy();
  }
}

/** Servers of a run's pool: claim -> release cycles give them back, so a few per claimer suffice. */
const poolSize = (concurrency: number) => 4 * concurrency + 50;

async function warmUp(ctx: BenchContext, stage: BenchStage, pipeline: Pipeline): Promise<void> {
  const group = poolGroup('notify-warmup', Date.now() % 100000);
  const concurrency = 4;
  await registerPool(ctx.env.admin, stage.config, { group, count: poolSize(concurrency) });
  const handlers = Array.from({ length: concurrency }, () => instances(stage));
  const parts: Record<string, number[]> = { 'claim-gs': [], 'confirm-claim': [], 'release-claim': [] };
  const expected = new ExpectedEvents();
  await runClosedLoop({
    concurrency,
    durationMs: Math.min(ctx.profile.warmupMs, 2000),
    op: (worker, seq) => cycle(handlers[worker]!, group, `${group}-${seq}`, expected, parts),
  });
  if (!(await pipeline.settle())) throw new Error(`notifications: the warm-up's events were not delivered within ${SETTLE_TIMEOUT_MS / 1000} s`);
}

async function measureRun(ctx: BenchContext, stage: BenchStage, pipeline: Pipeline, concurrency: number): Promise<RunRow> {
  const group = poolGroup('notify', 'c', concurrency, Date.now() % 100000);
  const servers = poolSize(concurrency);
  await registerPool(ctx.env.admin, stage.config, { group, count: servers });
  // The pool's registrations (gs.available, registered) are delivered before the run starts.
  if (!(await pipeline.settle())) throw new Error(`notifications: registrations not delivered within ${SETTLE_TIMEOUT_MS / 1000} s`);
  pipeline.receipts.reset();
  const handlers = Array.from({ length: concurrency }, () => instances(stage));
  const expected = new ExpectedEvents();
  const parts: Record<string, number[]> = { 'claim-gs': [], 'confirm-claim': [], 'release-claim': [] };
  const before = pipeline.counts();
  const cpu = ctx.env.cpu.start();
  const startedAt = Date.now();
  const result = await runClosedLoop({
    concurrency,
    durationMs: ctx.profile.notifications.runMs,
    op: (worker, seq) => cycle(handlers[worker]!, group, `${group}-${seq}`, expected, parts),
  });
  const answeredAt = Date.now();
  const settled = await pipeline.settle();
  const drainMs = Date.now() - answeredAt;
  const cpuShare = cpu();
  const after = pipeline.counts();
  const receipts = pipeline.receipts;
  const found = compare(receipts, expected);
  const deliveredPerSec = receipts.lastAt > startedAt ? round(found.received / ((receipts.lastAt - startedAt) / 1000), 1) : 0;
  const facts: NotificationFacts = {
    cycles: expected.cycles,
    servers,
    expected: found.expected,
    received: found.received,
    lost: found.lost,
    unexpected: found.unexpected,
    duplicates: receipts.duplicates,
    outOfOrder: receipts.outOfOrder,
    deliveredPerSec,
    latencyByType: found.latencyByType,
    afterResolveByType: found.afterResolveByType,
    split: found.split,
    pollIntervalMs: NOTIFY_POLL_INTERVAL_MS,
    batchSize: NOTIFY_BATCH_SIZE,
    batches: after.batches - before.batches,
    failedRecords: after.failedRecords - before.failedRecords,
    discardedRecords: after.discardedRecords - before.discardedRecords,
    failedAttempts: after.failedAttempts - before.failedAttempts,
    deadLettered: after.deadLettered - before.deadLettered,
    drainMs,
  };
  const problems = [
    ...(settled ? [] : [`stream and bus not drained within ${SETTLE_TIMEOUT_MS / 1000} s`]),
    ...(facts.lost ? [`${facts.lost} of ${facts.expected} events lost`] : []),
    ...(facts.outOfOrder ? [`${facts.outOfOrder} events out of order`] : []),
    ...(facts.unexpected ? [`${facts.unexpected} unexpected events`] : []),
    ...(expected.cycles === 0 ? ['no cycle completed'] : []),
  ];
  const row: RunRow = {
    label: 'notifications',
    via: 'stream source + notifier + webhook bus',
    concurrency,
    ok: found.received,
    misses: result.misses,
    errors: result.errors + problems.length,
    ...(result.firstError || problems.length ? { firstError: [result.firstError, ...problems].filter(Boolean).join('; ') } : {}),
    elapsedMs: result.elapsedMs,
    perSec: deliveredPerSec,
    latency: found.latencyByType[ALL]!,
    parts: Object.fromEntries(Object.entries(parts).map(([name, values]) => [name, summarize(values)])),
    notifications: facts,
    cpu: cpuShare,
  };
  ctx.log(
    `${describeRun(row)}  [events/s delivered; write -> webhook received; ${facts.cycles} cycles, ${facts.received}/${facts.expected} events, ` +
      `${facts.lost} lost, ${facts.outOfOrder} out of order, ${facts.duplicates} duplicates, drained ${drainMs} ms after the last answer]`,
  );
  return row;
}
