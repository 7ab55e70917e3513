import type { CpuShare } from './cpu';
import type { CommandCounts } from './ddb';
import type { BenchEnv } from './env';
import type { LatencySummary } from './stats';

/** How long and how hard a bench runs. */
export interface BenchProfile {
  name: 'full' | 'quick';
  /** Length of each measured run. */
  runMs: number;
  /** Warm-up (JIT of DynamoDB Local and of Node) before the first measured run. */
  warmupMs: number;
  floorConcurrencies: number[];
  claimConcurrencies: number[];
  /** Concurrencies of the "one function instance per claimer" variant. */
  ownInstanceConcurrencies: number[];
  /** The instances scenario (claims at Lambda concurrency): count 1 and pairs at these concurrencies. */
  instanceConcurrencies: number[];
  /** The small pool of the instances scenario: claimers cycle claim -> release on this many servers. */
  smallPool: { servers: number; concurrency: number };
  /** The large pool of the instances scenario (registered servers); none: not run. */
  largePool?: { servers: number; concurrency: number };
  listingTiers: number[];
  /** Registered servers for the listing over 16 shards. */
  shardedListingServers: number;
  listingRequests: number;
  ingestionEvents: number;
  /** The notifications scenario: claim -> confirm -> release cycles at each concurrency, each this long. */
  notifications: { concurrencies: number[]; runMs: number };
  /** The dashboard scenario: the fleet it loads and shapes, the GET /fleet requests and the page's refreshes it measures. */
  dashboard: DashboardProfile;
}

export interface DashboardProfile {
  servers: number;
  serversPerNode: number;
  /** Pair claims (count 2, distinct nodes) made before measuring; every second one is confirmed. */
  pairClaims: number;
  drainedNodes: number;
  /** Sequential GET /fleet requests: half past the route's cache, half right after (cached). */
  fleetRequests: number;
  /** Refreshes after the first render the page is measured over. */
  refreshes: number;
}

export const PROFILES: Record<'full' | 'quick', BenchProfile> = {
  full: {
    name: 'full',
    runMs: 4000,
    warmupMs: 6000,
    floorConcurrencies: [1, 4, 16, 64],
    claimConcurrencies: [1, 4, 16, 64],
    ownInstanceConcurrencies: [16, 64],
    instanceConcurrencies: [16, 64],
    smallPool: { servers: 200, concurrency: 64 },
    largePool: { servers: 100_000, concurrency: 64 },
    listingTiers: [1_000, 10_000, 100_000],
    shardedListingServers: 10_000,
    listingRequests: 400,
    ingestionEvents: 4000,
    notifications: { concurrencies: [1, 16, 64], runMs: 4000 },
    dashboard: { servers: 10_000, serversPerNode: 10, pairClaims: 1_500, drainedNodes: 20, fleetRequests: 20, refreshes: 5 },
  },
  quick: {
    name: 'quick',
    runMs: 500,
    warmupMs: 500,
    floorConcurrencies: [1, 16, 64],
    claimConcurrencies: [1, 16, 64],
    // The instances scenario runs claim-gs with one instance per claimer at c=16 (and checks it):
    // the claims scenario's own copy of that run is left out of the quick profile.
    ownInstanceConcurrencies: [],
    instanceConcurrencies: [16],
    smallPool: { servers: 200, concurrency: 16 },
    // A smoke test of the listing path: the 10^4 and 10^5 tiers are the full run's.
    listingTiers: [1_000],
    shardedListingServers: 1_000,
    listingRequests: 40,
    ingestionEvents: 400,
    notifications: { concurrencies: [1, 16], runMs: 2000 },
    dashboard: { servers: 400, serversPerNode: 10, pairClaims: 40, drainedNodes: 2, fleetRequests: 4, refreshes: 2 },
  },
};

export interface BenchContext {
  env: BenchEnv;
  profile: BenchProfile;
  /** Progress line on screen (stderr). */
  log(line: string): void;
}

/** Claim-specific outcome of a run. */
export interface ClaimFacts {
  /**
   * Distinct servers (pairs: distinct pairs) handed out per second of the run. Claim -> release
   * cycles hand the same servers out again and again: their claims/s is the row's perSec.
   */
  distinctPerSec: number;
  doubleClaims: number;
  tableDisagreements: number;
  /** Wins whose claim record is missing or names other servers or another attempt. */
  recordDisagreements: number;
  sameNodeSets: number;
  poolSize: number;
  /** Servers handed out (distinct). */
  poolUsed: number;
  /** The run ended before its time because the pool was nearly used up (it never ran dry). */
  stoppedEarly: boolean;
  /** Refusals by the message the caller got (e.g. "No game servers match the request right now"). */
  missReasons?: Record<string, number>;
  /** Claim -> release cycles (each win released right away by the same claimer; small pools). */
  cycle?: CycleFacts;
}

/** The release half of claim -> release cycles, counted and timed apart from the claims. */
export interface CycleFacts {
  releases: number;
  /** DynamoDB commands the release handlers sent, per release (their own counted client). */
  releaseRequestsPerCycle: number;
  releaseCommands: Record<string, number>;
  /** Latency of the release requests alone. */
  releaseLatency: LatencySummary;
  /** Latency of the whole cycle (claim, then release). */
  cycleLatency: LatencySummary;
  /** Releases that did not return exactly the servers the claim won (another claimer held one). */
  releaseMismatches: number;
  /** Wins of a server whose previous claim had not started its release: a double claim (also in doubleClaims). */
  heldWhenWon: number;
}

/** One measured run: an operation at one concurrency. */
export interface RunRow {
  label: string;
  via: string;
  /** Which row of a scenario a run (or its adjacent floor) belongs to (the instances scenario). */
  case?: string;
  concurrency: number;
  ok: number;
  misses: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  /** ok operations per second. */
  perSec: number;
  latency: LatencySummary;
  /** Latency of named parts of each operation (the cycle floor: its claim writes and its release). */
  parts?: Record<string, LatencySummary>;
  /** DynamoDB commands per ok operation (counted by middleware, not estimated). */
  roundTripsPerOk?: number;
  /** HTTP requests to DynamoDB per ok operation (commands plus SDK retries). */
  httpRequestsPerOk?: number;
  commands?: Record<string, number>;
  /** Commands refused on their condition (ConditionalCheckFailedException), by API name. */
  refusedByCommand?: Record<string, number>;
  /** Single-item writes by the status they set, sent and refused (CommandCounts.writesByStatus). */
  writesByStatus?: Record<string, { sent: number; refused: number }>;
  claims?: ClaimFacts;
  listing?: ListingFacts;
  ingestion?: IngestionFacts;
  notifications?: NotificationFacts;
  cpu?: CpuShare;
  /** http rows: the Lambda-like instances the run made (cold starts), all made so far, and their initialisation time. */
  instances?: { created: number; total: number; coldStartMs: number };
}

export interface ListingFacts {
  /** Game-server records in the table when the run was made. */
  registered: number;
  /** The request, e.g. `region+group, limit 10`. */
  shape: string;
  /** Servers returned per request (mean). */
  returnedPerRequest: number;
  /** Items DynamoDB read per request (sum of Query ScannedCount). */
  itemsReadPerRequest: number;
  /** How the records were loaded. */
  loadedBy: string;
}

export interface IngestionFacts {
  events: number;
  /** Messages per batch handed to the handler. */
  batchSize: number;
  /** Batches in flight at once (Lambda's concurrent invocations of the poller). */
  batchesInFlight: number;
  /** Servers found at their newest event afterwards (read back from the table). */
  applied: number;
  /** Servers the events were about. */
  servers: number;
  /** Messages the handler reported as failed (handed back to the queue). */
  failed: number;
  /** From SentTimestamp to the poller's return, per message (SQS runs only). */
  queueToAppliedMs?: { p50: number; p99: number };
  /** Events/s from the first send to the last applied (SQS runs only). */
  endToEndPerSec?: number;
  /** Messages/s the producer put on the queue (SQS runs only). */
  sendPerSec?: number;
  deadLettered?: number;
}

/**
 * What the webhook receiver got during one notifications run, against what the run's writes
 * mean: every claim -> confirm -> release cycle makes exactly gs.claimed, gs.busy, gs.released and
 * gs.available (reason released) for its server.
 */
export interface NotificationFacts {
  /** Cycles whose three requests all answered 200 (claim won, confirmed, released). */
  cycles: number;
  /** Servers in the run's pool. */
  servers: number;
  /** Events the run's writes mean (4 per cycle). */
  expected: number;
  /** Distinct expected events received (by id), verified signature. */
  received: number;
  /** Expected events never received. */
  lost: number;
  /** Distinct events received that no write of the run means. */
  unexpected: number;
  /** Deliveries of an event id received before (at-least-once delivery; counted, not an error). */
  duplicates: number;
  /** Events received after a later event of the same server (by data.sequence, then the order within one write). */
  outOfOrder: number;
  /** Distinct events received per second, from the run's first request to the last receipt. */
  deliveredPerSec: number;
  /** Receipt (Date.now() in the receiver) − event `time` (the record's updatedAt), by type and `all`. */
  latencyByType: Record<string, LatencySummary>;
  /** Receipt − the client's clock when the write's request resolved, by type and `all` (can be negative). */
  afterResolveByType: Record<string, LatencySummary>;
  /**
   * The latency in two, all events: event `time` -> the stream event source handing the record to
   * the notifier (the write, the stream, the poll interval), and from there -> receipt (the
   * notifier, the bus's queue, the HTTP delivery).
   */
  split: { writeToNotifier: LatencySummary; notifierToReceipt: LatencySummary };
  /** The stream event source's wait after an empty GetRecords (its default, as `npm start` runs it). */
  pollIntervalMs: number;
  /** Records per notifier invocation at most. */
  batchSize: number;
  /** Notifier invocations, and records they reported failed (retried by the stream source). */
  batches: number;
  failedRecords: number;
  /** Stream records given up on (the on-failure destination). */
  discardedRecords: number;
  /** Bus delivery attempts that failed (retried), and events it dead-lettered. */
  failedAttempts: number;
  deadLettered: number;
  /** From the last request's answer until every event was received (the stream and the bus drained). */
  drainMs: number;
}

export function roundTrips(
  counts: CommandCounts,
  ok: number,
): Pick<RunRow, 'roundTripsPerOk' | 'httpRequestsPerOk' | 'commands' | 'refusedByCommand' | 'writesByStatus'> {
  const writes = Object.entries(counts.writesByStatus ?? {});
  return {
    roundTripsPerOk: ok > 0 ? Math.round((counts.commands / ok) * 1000) / 1000 : Number.NaN,
    httpRequestsPerOk: ok > 0 ? Math.round((counts.httpRequests / ok) * 1000) / 1000 : Number.NaN,
    commands: counts.byCommand,
    ...(Object.keys(counts.refusedByCommand ?? {}).length ? { refusedByCommand: counts.refusedByCommand } : {}),
    ...(writes.length ? { writesByStatus: Object.fromEntries(writes.map(([key, sent]) => [key, { sent, refused: counts.refusedByStatus?.[key] ?? 0 }])) } : {}),
  };
}

export function describeRun(row: RunRow): string {
  const parts = [
    `${row.label} [${row.via}] c=${row.concurrency}:`,
    `${row.perSec.toFixed(0)}/s`,
    `p50 ${row.latency.p50.toFixed(1)} ms p99 ${row.latency.p99.toFixed(1)} ms`,
  ];
  if (row.roundTripsPerOk !== undefined) parts.push(`${row.roundTripsPerOk.toFixed(2)} RT/op`);
  if (row.claims) parts.push(`double claims ${row.claims.doubleClaims}, table disagreements ${row.claims.tableDisagreements + row.claims.recordDisagreements}`);
  if (row.misses) parts.push(`misses ${row.misses}`);
  if (row.errors) parts.push(`ERRORS ${row.errors} (${row.firstError})`);
  return parts.join('  ');
}
