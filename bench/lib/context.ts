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
  listingTiers: number[];
  /** Registered servers for the listing over 16 shards. */
  shardedListingServers: number;
  listingRequests: number;
  ingestionEvents: number;
}

export const PROFILES: Record<'full' | 'quick', BenchProfile> = {
  full: {
    name: 'full',
    runMs: 4000,
    warmupMs: 6000,
    floorConcurrencies: [1, 4, 16, 64],
    claimConcurrencies: [1, 4, 16, 64],
    ownInstanceConcurrencies: [16, 64],
    listingTiers: [1_000, 10_000, 100_000],
    shardedListingServers: 10_000,
    listingRequests: 400,
    ingestionEvents: 4000,
  },
  quick: {
    name: 'quick',
    runMs: 500,
    warmupMs: 500,
    floorConcurrencies: [1, 16, 64],
    claimConcurrencies: [1, 16, 64],
    ownInstanceConcurrencies: [16],
    listingTiers: [1_000, 10_000],
    shardedListingServers: 1_000,
    listingRequests: 40,
    ingestionEvents: 400,
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
  /** Distinct servers handed out per second of the run. */
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
}

/** One measured run: an operation at one concurrency. */
export interface RunRow {
  label: string;
  via: string;
  concurrency: number;
  ok: number;
  misses: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  /** ok operations per second. */
  perSec: number;
  latency: LatencySummary;
  /** DynamoDB commands per ok operation (counted by middleware, not estimated). */
  roundTripsPerOk?: number;
  /** HTTP requests to DynamoDB per ok operation (commands plus SDK retries). */
  httpRequestsPerOk?: number;
  commands?: Record<string, number>;
  claims?: ClaimFacts;
  listing?: ListingFacts;
  ingestion?: IngestionFacts;
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

export function roundTrips(counts: CommandCounts, ok: number): Pick<RunRow, 'roundTripsPerOk' | 'httpRequestsPerOk' | 'commands'> {
  return {
    roundTripsPerOk: ok > 0 ? Math.round((counts.commands / ok) * 1000) / 1000 : Number.NaN,
    httpRequestsPerOk: ok > 0 ? Math.round((counts.httpRequests / ok) * 1000) / 1000 : Number.NaN,
    commands: counts.byCommand,
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
