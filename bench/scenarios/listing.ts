import { makeHandler as makeList } from '../../functions/get-available-gs';
import { KEYS } from '../../testkit/api-keys';
import { countsSince, type CommandCounts } from '../lib/ddb';
import { describeRun, roundTrips, type BenchContext, type RunRow } from '../lib/context';
import { createStage } from '../lib/env';
import { createHttpClient, type JsonResponse } from '../lib/http-client';
import { startHttpServerProcess, type HttpServerProcess } from '../lib/http-process';
import { invokeHandler } from '../lib/invoke';
import { runClosedLoop } from '../lib/load';
import { BENCH_REGION, registerPool } from '../lib/pool';
import { round } from '../lib/stats';

const GROUPS = 10;
const LOADED_BY = 'BatchWriteItem of records built by decideGameServerWrite (the poller\'s pure decision)';

/**
 * The table's mix, by index: 70 % available, 25 % draining (out of the index's claimable
 * range), 5 % stale (claimable range, but no heartbeat within the timeout: read and filtered).
 */
function eventFor(i: number): { event: 'ready' | 'draining'; sentAt?: number } {
  const slot = i % 20;
  if (slot < 14) return { event: 'ready' };
  if (slot < 19) return { event: 'draining' };
  return { event: 'ready', sentAt: Date.now() - 2 * 3_600_000 };
}

interface Shape {
  name: string;
  query: Record<string, string>;
}

const SHAPES: Shape[] = [
  { name: 'region+group, limit 10', query: { region: BENCH_REGION, group: 'list-3', limit: '10' } },
  { name: 'no filter, limit 10', query: { limit: '10' } },
];

/**
 * get-available-gs latency with 1k, 10k and 100k registered servers (spread over 10 groups of
 * one region), one request at a time: the cost must follow the result size, not the table size,
 * so latency, round trips and items read per request should stay flat as the table grows.
 */
export async function runListing(ctx: BenchContext): Promise<RunRow[]> {
  const stage = await createStage(ctx.env, 'bench-listing');
  let server: HttpServerProcess | undefined;
  const rows: RunRow[] = [];
  try {
    let registered = 0;
    const handler = makeList(stage.deps);
    for (const tier of ctx.profile.listingTiers) {
      const started = Date.now();
      const perGroup = Math.ceil((tier - registered) / GROUPS);
      for (let g = 0; g < GROUPS; g++) {
        const offset = registered + g * perGroup;
        await registerPool(ctx.env.admin, stage.config, { group: `list-${g}`, count: perGroup, eventFor: (i) => eventFor(offset + i) });
      }
      registered += perGroup * GROUPS;
      ctx.log(`listing: ${registered} servers registered (+${perGroup * GROUPS} in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      if (!server) {
        server = await startHttpServerProcess(stage.env);
        ctx.env.cpu.watch('http server', server.pid);
      }
      const http = createHttpClient(server.url, { maxSockets: 1, apiKey: KEYS.reader });
      for (const shape of SHAPES) {
        const call = (): Promise<JsonResponse> => invokeHandler(handler, 'get-available-gs', { route: '/get-available-gs', query: shape.query });
        rows.push(await measureListing(ctx, registered, shape, 'in-process', call, () => Promise.resolve(stage.counter.snapshot())));
      }
      const first = SHAPES[0]!;
      const path = `/get-available-gs?${new URLSearchParams(first.query).toString()}`;
      rows.push(await measureListing(ctx, registered, first, 'http', () => http.send('GET', path, undefined), server.counts));
      http.close();
    }
    rows.push(...(await shardedListing(ctx)));
    return rows;
  } finally {
    if (server) {
      ctx.env.cpu.unwatch('http server');
      await server.stop();
    }
    await stage.destroy();
  }
}

/** The same requests over a table whose availability indexes have 16 shards (every shard is queried). */
async function shardedListing(ctx: BenchContext): Promise<RunRow[]> {
  const shards = 16;
  const stage = await createStage(ctx.env, 'bench-listing-sharded', { AVAILABILITY_SHARDS: String(shards) });
  try {
    const perGroup = Math.ceil(ctx.profile.shardedListingServers / GROUPS);
    for (let g = 0; g < GROUPS; g++) {
      await registerPool(ctx.env.admin, stage.config, { group: `list-${g}`, count: perGroup, eventFor: (i) => eventFor(g * perGroup + i) });
    }
    const handler = makeList(stage.deps);
    const rows: RunRow[] = [];
    for (const shape of SHAPES) {
      const call = (): Promise<JsonResponse> => invokeHandler(handler, 'get-available-gs', { route: '/get-available-gs', query: shape.query });
      rows.push(await measureListing(ctx, perGroup * GROUPS, shape, `in-process, ${shards} shards`, call, () => Promise.resolve(stage.counter.snapshot())));
    }
    return rows;
  } finally {
    await stage.destroy();
  }
}

async function measureListing(
  ctx: BenchContext,
  registered: number,
  shape: Shape,
  via: string,
  call: () => Promise<JsonResponse>,
  counts: () => Promise<CommandCounts>,
): Promise<RunRow> {
  // A few unrecorded requests first (connections, JIT).
  for (let i = 0; i < 10; i++) await call();
  let returned = 0;
  const before = await counts();
  const cpu = ctx.env.cpu.start();
  const result = await runClosedLoop({
    concurrency: 1,
    durationMs: 120_000,
    maxOps: ctx.profile.listingRequests,
    op: async () => {
      const response = await call();
      if (response.status !== 200) throw new Error(`get-available-gs answered ${response.status}: ${JSON.stringify(response.body)}`);
      returned += response.body.servers.length;
      return 'ok';
    },
  });
  const cpuShare = cpu();
  const counted = countsSince(before, await counts());
  const row: RunRow = {
    label: 'get-available-gs',
    via,
    concurrency: 1,
    ok: result.ok,
    misses: result.misses,
    errors: result.errors,
    ...(result.firstError ? { firstError: result.firstError } : {}),
    elapsedMs: result.elapsedMs,
    perSec: result.okPerSec,
    latency: result.latency,
    ...roundTrips(counted, result.ok),
    listing: {
      registered,
      shape: shape.name,
      returnedPerRequest: round(returned / Math.max(1, result.ok), 1),
      itemsReadPerRequest: round(counted.itemsScanned / Math.max(1, result.ok), 1),
      loadedBy: LOADED_BY,
    },
    cpu: cpuShare,
  };
  ctx.log(`${describeRun(row)}  [${registered} registered, ${shape.name}, ${row.listing!.itemsReadPerRequest} items read/request]`);
  return row;
}
