import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeSetBusy } from '../../functions/set-gs-busy';
import { KEYS } from '../../testkit/api-keys';
import { measureClaimRun, poolGroup, poolSizeFor, type ClaimAttempt } from '../lib/claim-run';
import type { BenchContext, RunRow } from '../lib/context';
import type { CommandCounts } from '../lib/ddb';
import { createStage, type BenchStage } from '../lib/env';
import { createHttpClient, type JsonResponse } from '../lib/http-client';
import { startHttpServerProcess, type HttpServerProcess } from '../lib/http-process';
import { invokeHandler } from '../lib/invoke';
import { BENCH_REGION, registerPool } from '../lib/pool';
import { FLOOR_TRANSACT, FLOOR_TWO_WRITES, FLOOR_UPDATE, floorOps, measureFloorOp } from './floor';

/** Leases outlast the whole bench, so a claimed server cannot come back into a run's pool. */
export const BENCH_LEASE_SECONDS = 600;

type Send = (method: string, path: string, body: unknown) => Promise<JsonResponse>;

/** The outcome of one POST /claim-gs as a caller sees it. */
export function claimOutcome(response: JsonResponse): ClaimAttempt {
  if (response.status === 200) {
    return { kind: 'won', claimId: response.body.claimId, servers: response.body.servers.map((s: { endpoint: string; node: string }) => ({ endpoint: s.endpoint, node: s.node })) };
  }
  if (response.status === 409 && response.body?.error?.code === 'gs.none_available') return { kind: 'miss', reason: String(response.body.error.message) };
  throw new Error(`claim-gs answered ${response.status}: ${JSON.stringify(response.body)}`);
}

function setBusyOutcome(response: JsonResponse): ClaimAttempt {
  if (response.status === 200) return { kind: 'won', claimId: response.body.claimId, servers: [{ endpoint: response.body.server.endpoint }] };
  if (response.status === 409) return { kind: 'miss', reason: String(response.body?.error?.message) };
  throw new Error(`set-gs-busy answered ${response.status}: ${JSON.stringify(response.body)}`);
}

export interface ClaimScenarioOptions {
  /** Upper bound of claims/s (the floor's fastest single-write rate), to size pools. */
  writeRate: number;
}

/**
 * claim-gs (count 1) and set-gs-busy at each concurrency, through the handler in-process (the
 * code path the Lambda runs: middy stack, auth, validation, lib) and through the local HTTP
 * server in its own process. claim-gs also runs with one function instance per claimer (no
 * shared candidate cache: how separate Lambda containers behave).
 */
export async function runClaims(ctx: BenchContext, options: ClaimScenarioOptions): Promise<{ rows: RunRow[]; adjacentFloor: RunRow[] }> {
  const stage = await createStage(ctx.env, 'bench-claims');
  let server: HttpServerProcess | undefined;
  const rows: RunRow[] = [];
  const adjacentFloor: RunRow[] = [];
  try {
    server = await startHttpServerProcess(stage.env);
    ctx.env.cpu.watch('http server', server.pid);
    const http = createHttpClient(server.url, { maxSockets: 128, apiKey: KEYS.matchmaker });
    const httpCounts = server.counts;
    const local = stage.counter;
    const inProcess = () => Promise.resolve(local.snapshot());

    // Warm-up of the handlers and the HTTP server (its own pool, not recorded).
    await warmUp(ctx, stage, http.send);
    // The raw writes one claim is compared with, measured on the same table right before each
    // in-process claim-gs run at the same concurrency: background load on a shared machine
    // changes from minute to minute, so the ratio compares like with like.
    const floorServers = await registerPool(ctx.env.admin, stage.config, { group: 'floor-adjacent', count: 1000 });
    const adjacent = floorOps(stage, floorServers.map((f) => f.endpoint), 'floor-adjacent').filter((f) => f.label === FLOOR_UPDATE || f.label === FLOOR_TWO_WRITES || f.label === FLOOR_TRANSACT);

    for (const concurrency of ctx.profile.claimConcurrencies) {
      for (const floor of adjacent) adjacentFloor.push(await measureFloorOp(ctx, stage, floor, concurrency, ctx.profile.runMs / 3, 'sdk, next to claim-gs'));
      const handler = makeClaim(stage.deps);
      rows.push(
        await claimGsRun(ctx, stage, 'in-process', concurrency, options, inProcess, (body) =>
          invokeHandler(handler, 'claim-gs', { method: 'POST', route: '/claim-gs', body }),
        ),
      );
    }
    for (const concurrency of ctx.profile.ownInstanceConcurrencies) {
      const handlers = Array.from({ length: concurrency }, () => makeClaim(stage.deps));
      rows.push(
        await claimGsRun(ctx, stage, 'in-process, 1 instance per claimer', concurrency, options, inProcess, (body, worker) =>
          invokeHandler(handlers[worker]!, 'claim-gs', { method: 'POST', route: '/claim-gs', body }),
        ),
      );
    }
    for (const concurrency of ctx.profile.claimConcurrencies) {
      const before = (await server.instances())['claim-gs']!;
      const row = await claimGsRun(ctx, stage, 'http', concurrency, options, httpCounts, (body) => http.send('POST', '/claim-gs', body));
      const after = (await server.instances())['claim-gs']!;
      rows.push({ ...row, instances: { created: after.created - before.created, total: after.created, coldStartMs: after.coldStartMs - before.coldStartMs } });
    }
    for (const concurrency of ctx.profile.claimConcurrencies) {
      const handler = makeSetBusy(stage.deps);
      rows.push(
        await setBusyRun(ctx, stage, 'in-process', concurrency, options, inProcess, (endpoint, body) =>
          invokeHandler(handler, 'set-gs-busy', { method: 'POST', route: '/set-gs-busy/{endpoint}', pathParameters: { endpoint }, body }),
        ),
      );
    }
    for (const concurrency of ctx.profile.claimConcurrencies) {
      rows.push(
        await setBusyRun(ctx, stage, 'http', concurrency, options, httpCounts, (endpoint, body) =>
          http.send('POST', `/set-gs-busy/${encodeURIComponent(endpoint)}`, body),
        ),
      );
    }
    http.close();
    return { rows, adjacentFloor };
  } finally {
    if (server) {
      ctx.env.cpu.unwatch('http server');
      await server.stop();
    }
    await stage.destroy();
  }
}

async function warmUp(ctx: BenchContext, stage: BenchStage, send: Send): Promise<void> {
  const group = poolGroup('warmup');
  await registerPool(ctx.env.admin, stage.config, { group, count: 600 });
  const handler = makeClaim(stage.deps);
  const deadline = Date.now() + ctx.profile.warmupMs;
  let n = 0;
  while (Date.now() < deadline && n < 500) {
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const body = { claimId: `warm-${n}-${i}`, region: BENCH_REGION, group, leaseSeconds: BENCH_LEASE_SECONDS };
        claimOutcome(i % 2 ? await send('POST', '/claim-gs', body) : await invokeHandler(handler, 'claim-gs', { method: 'POST', route: '/claim-gs', body }));
      }),
    );
    n += 8;
  }
}

async function claimGsRun(
  ctx: BenchContext,
  stage: BenchStage,
  via: string,
  concurrency: number,
  options: ClaimScenarioOptions,
  counts: () => Promise<CommandCounts>,
  call: (body: Record<string, unknown>, worker: number) => Promise<JsonResponse>,
): Promise<RunRow> {
  const group = poolGroup('claim', via.split(',')[0]!, via.includes('instance') ? 'own' : 'shared', 'c', concurrency, Date.now() % 100000);
  const poolSize = poolSizeFor(options.writeRate, ctx.profile.runMs, concurrency);
  await registerPool(ctx.env.admin, stage.config, { group, count: poolSize });
  return measureClaimRun({
    ctx,
    label: 'claim-gs',
    via,
    concurrency,
    poolSize,
    serversPerWin: 1,
    admin: ctx.env.admin,
    table: stage.config.tables.gameServers,
    expectedStatus: 'claimed',
    claimsTable: stage.config.tables.claims,
    counts,
    attempt: async (worker, seq) =>
      claimOutcome(await call({ claimId: `${group}-${seq}`, region: BENCH_REGION, group, leaseSeconds: BENCH_LEASE_SECONDS }, worker)),
  });
}

async function setBusyRun(
  ctx: BenchContext,
  stage: BenchStage,
  via: string,
  concurrency: number,
  options: ClaimScenarioOptions,
  counts: () => Promise<CommandCounts>,
  call: (endpoint: string, body: Record<string, unknown>) => Promise<JsonResponse>,
): Promise<RunRow> {
  const group = poolGroup('busy', via, 'c', concurrency, Date.now() % 100000);
  const poolSize = poolSizeFor(options.writeRate, ctx.profile.runMs, concurrency);
  const servers = await registerPool(ctx.env.admin, stage.config, { group, count: poolSize });
  // Each call names a server no other call names: set-gs-busy is the "I already picked one" route.
  return measureClaimRun({
    ctx,
    label: 'set-gs-busy',
    via,
    concurrency,
    poolSize,
    serversPerWin: 1,
    admin: ctx.env.admin,
    table: stage.config.tables.gameServers,
    expectedStatus: 'busy',
    counts,
    attempt: async (_worker, seq) => {
      const server = servers[seq];
      return server ? setBusyOutcome(await call(server.endpoint, { claimId: `${group}-${seq}` })) : { kind: 'miss' };
    },
  });
}
