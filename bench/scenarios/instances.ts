import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { makeHandler as makeRelease } from '../../functions/release-claim';
import { keyPrincipal } from '../../lib/auth/keys';
import { claimRecordTtl } from '../../lib/claims/deadlines';
import type { ClaimItem } from '../../schemas/items';
import { CYCLE_PART_CLAIM, CYCLE_PART_RELEASE, FLOOR_CYCLE, FLOOR_PAIR, INSTANCE_CASES } from '../lib/instance-cases';
import { measureClaimRun, poolGroup, poolSizeFor, type ClaimAttempt } from '../lib/claim-run';
import type { BenchContext, RunRow } from '../lib/context';
import { createStage, type BenchStage } from '../lib/env';
import type { JsonResponse } from '../lib/http-client';
import { invokeHandler } from '../lib/invoke';
import { BENCH_REGION, registerPool } from '../lib/pool';
import { summarize, type LatencySummary } from '../lib/stats';
import { BENCH_LEASE_SECONDS, claimOutcome } from './claims';
import { FLOOR_TWO_WRITES, FLOOR_UPDATE, floorOps, measureFloorOp, type FloorOp } from './floor';

const VIA = 'in-process, 1 instance per claimer';
/** The matchmaker key's principal (testkit/api-keys): the owner claim-gs stamps on our claims. */
const OWNER = keyPrincipal('matchmaker');

const releaseRequest = (claimId: string) => ({ method: 'POST', route: '/claims/{claimId}/release', pathParameters: { claimId } });

/** The endpoints a release answer says it returned to the pool; anything but 200 is an error. */
function releasedEndpoints(response: JsonResponse, claimId: string): string[] {
  if (response.status !== 200 || !Array.isArray(response.body?.released)) {
    throw new Error(`release-claim ${claimId} answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response.body.released as string[];
}

/**
 * Claims at Lambda concurrency (the issue "claims at Lambda concurrency"): claim-gs through its
 * handler in-process with one function instance per concurrent claimer (`makeClaim(deps)` per
 * worker: its own CandidateCache, as separate Lambda execution environments have), in the
 * stage's default configuration (the bench's --shards, 1 by default). Every row is preceded, on
 * the same stage and at the same concurrency, by the floors it is compared with: one conditional
 * UpdateItem, and the DynamoDB requests one uncontended claim of that kind sends (CASE_FLOOR in
 * bench/lib/instance-cases.ts).
 * Rows: count 1 and pairs at each instanceConcurrencies; a small pool (claimers release each
 * claim right away through their own release-claim handler and claim again); a large pool.
 */
export async function runInstances(ctx: BenchContext, options: { writeRate: number }): Promise<{ rows: RunRow[]; floors: RunRow[] }> {
  const stage = await createStage(ctx.env, 'bench-instances');
  const rows: RunRow[] = [];
  const floors: RunRow[] = [];
  const floorMs = ctx.profile.runMs / 3;
  try {
    await warmUp(ctx, stage);
    const floorServers = await registerPool(ctx.env.admin, stage.config, {
      group: 'inst-floor',
      // Enough that no two floor writes in flight share a server (a pair's floor writes two).
      count: 2 * Math.max(...ctx.profile.instanceConcurrencies, ctx.profile.smallPool.concurrency, ctx.profile.largePool?.concurrency ?? 0) + 100,
    });
    const raw = floorOps(stage, floorServers.map((s) => s.endpoint), 'inst-floor');
    const update = raw.find((f) => f.label === FLOOR_UPDATE)!;
    const twoWrites = raw.find((f) => f.label === FLOOR_TWO_WRITES)!;
    const pair: FloorOp = { label: FLOOR_PAIR, op: (seq) => Promise.all([twoWrites.op(2 * seq), update.op(2 * seq + 1)]) };
    const adjacent = async (name: string, concurrency: number, ops: FloorOp[]) => {
      for (const floor of ops) floors.push({ ...(await measureFloorOp(ctx, stage, floor, concurrency, floorMs, 'sdk, next to the instances run')), case: name });
    };

    // Each run's pool is registered first, then its floors are measured, then the run: nothing
    // comes between a floor and the claims it is compared with.
    const register = async (name: string, concurrency: number, count: number, perNode?: number) => {
      const group = poolGroup('inst', name.split(' ')[0]!, 'c', concurrency, Date.now() % 100000);
      const started = Date.now();
      await registerPool(ctx.env.admin, stage.config, { group, count, ...(perNode ? { perNode } : {}) });
      if (count >= 10_000) ctx.log(`instances: ${count} servers registered for the ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return group;
    };

    for (const concurrency of ctx.profile.instanceConcurrencies) {
      const poolSize = poolSizeFor(options.writeRate, ctx.profile.runMs, concurrency);
      const group = await register(INSTANCE_CASES.count1, concurrency, poolSize);
      await adjacent(INSTANCE_CASES.count1, concurrency, [update, twoWrites]);
      rows.push(await claimRun(ctx, stage, { name: INSTANCE_CASES.count1, group, concurrency, poolSize }));
    }
    for (const concurrency of ctx.profile.instanceConcurrencies) {
      // A pair writes three items: at most half the single-write rate in pairs (as pairs.ts).
      const poolSize = poolSizeFor(options.writeRate / 2, ctx.profile.runMs, concurrency, 2);
      const group = await register(INSTANCE_CASES.pairs, concurrency, poolSize, 2);
      await adjacent(INSTANCE_CASES.pairs, concurrency, [update, pair]);
      rows.push(await claimRun(ctx, stage, { name: INSTANCE_CASES.pairs, group, concurrency, poolSize, count: 2 }));
    }
    {
      const { servers, concurrency } = ctx.profile.smallPool;
      const group = await register(INSTANCE_CASES.smallPool, concurrency, servers);
      const cycle = await cycleFloor(ctx, stage, concurrency);
      await adjacent(INSTANCE_CASES.smallPool, concurrency, [update]);
      // The cycle floor's claim writes and release are timed apart, as the run times its claims.
      const measured = await measureFloorOp(ctx, stage, cycle, concurrency, floorMs, 'sdk, next to the instances run');
      floors.push({ ...measured, case: INSTANCE_CASES.smallPool, parts: cycle.parts() });
      rows.push(await claimRun(ctx, stage, { name: INSTANCE_CASES.smallPool, group, concurrency, poolSize: servers, cycles: true }));
    }
    if (ctx.profile.largePool) {
      // Last: its floors and claims then run on the same big table.
      const { servers, concurrency } = ctx.profile.largePool;
      const group = await register(INSTANCE_CASES.largePool, concurrency, servers);
      await adjacent(INSTANCE_CASES.largePool, concurrency, [update, twoWrites]);
      rows.push(await claimRun(ctx, stage, { name: INSTANCE_CASES.largePool, group, concurrency, poolSize: servers }));
    }
    return { rows, floors };
  } finally {
    await stage.destroy();
  }
}

interface RunShape {
  /** RunRow.case. */
  name: string;
  /** The pool, registered already. */
  group: string;
  concurrency: number;
  poolSize: number;
  count?: number;
  /** Each win is released right away through the claimer's own release-claim handler. */
  cycles?: boolean;
}

/** One measured claim-gs run with one function instance (claim-gs, release-claim handlers) per claimer. */
async function claimRun(ctx: BenchContext, stage: BenchStage, shape: RunShape): Promise<RunRow> {
  const { name, group, concurrency, poolSize } = shape;
  const count = shape.count ?? 1;
  const claimers = Array.from({ length: concurrency }, () => makeClaim(stage.deps));
  // The releases have a DynamoDB client of their own: their requests are counted apart.
  const releaseSide = shape.cycles ? stage.newDeps() : undefined;
  const releasers = releaseSide ? Array.from({ length: concurrency }, () => makeRelease(releaseSide.deps)) : [];
  const body = (seq: number) => ({
    claimId: `${group}-${seq}`,
    region: BENCH_REGION,
    group,
    leaseSeconds: BENCH_LEASE_SECONDS,
    ...(count > 1 ? { count, distinctNodes: true } : {}),
  });
  return measureClaimRun({
    ctx,
    label: count > 1 ? 'claim-gs pairs' : 'claim-gs',
    via: VIA,
    case: name,
    concurrency,
    poolSize,
    serversPerWin: count,
    ...(count > 1 ? { distinctNodes: true } : {}),
    admin: ctx.env.admin,
    table: stage.config.tables.gameServers,
    expectedStatus: 'claimed',
    claimsTable: stage.config.tables.claims,
    counts: () => Promise.resolve(stage.counter.snapshot()),
    attempt: async (worker, seq): Promise<ClaimAttempt> =>
      claimOutcome(await invokeHandler(claimers[worker]!, 'claim-gs', { method: 'POST', route: '/claim-gs', body: body(seq) })),
    ...(releaseSide
      ? {
          release: {
            call: async (worker, won) => releasedEndpoints(await invokeHandler(releasers[worker]!, 'release-claim', releaseRequest(won.claimId)), won.claimId),
            counts: () => Promise.resolve(releaseSide.counter.snapshot()),
          },
        }
      : {}),
  });
}

/**
 * The uncontended cost of one claim -> release cycle: the two writes a claim makes, sent
 * together (the server's conditional UpdateItem, written as a claim writes it, and the claim
 * record's conditional PutItem), then the release through a release-claim handler, exactly as the
 * small-pool run releases. Each caller has a server of its own (no listing, no race: nothing a
 * claimer could lose), and each server its own release handler.
 */
async function cycleFloor(ctx: BenchContext, stage: BenchStage, concurrency: number): Promise<FloorOp & { parts(): Record<string, LatencySummary> }> {
  const group = poolGroup('inst-cycle-floor', concurrency, Date.now() % 100000);
  const servers = await registerPool(ctx.env.admin, stage.config, { group, count: concurrency });
  const free = servers.map((server) => ({ endpoint: server.endpoint, release: makeRelease(stage.deps) }));
  const { gameServers, claims } = stage.config.tables;
  const ddb = stage.deps.ddb;
  let n = 0;
  const claimMs: number[] = [];
  const releaseMs: number[] = [];
  return {
    label: FLOOR_CYCLE,
    parts: () => ({ [CYCLE_PART_CLAIM]: summarize(claimMs), [CYCLE_PART_RELEASE]: summarize(releaseMs) }),
    op: async () => {
      const server = free.pop();
      if (!server) throw new Error('cycle floor: more callers than servers');
      try {
        const claimId = `${group}-${++n}`;
        const attemptId = randomUUID();
        const now = Date.now();
        const leaseExpiresAt = now + BENCH_LEASE_SECONDS * 1000;
        const record: ClaimItem = {
          claimId,
          status: 'leased',
          endpoints: [server.endpoint],
          requestHash: 'bench-cycle-floor',
          attemptId,
          createdAt: now,
          leaseSeconds: BENCH_LEASE_SECONDS,
          leaseExpiresAt,
          holdSeconds: 3600,
          owner: OWNER,
          expiresAt: claimRecordTtl(leaseExpiresAt),
        };
        const t0 = performance.now();
        await Promise.all([
          ddb.send(
            new UpdateCommand({
              TableName: gameServers,
              Key: { endpoint: server.endpoint },
              ConditionExpression: 'attribute_exists(#endpoint) AND #availableAt <= :now',
              UpdateExpression:
                'SET #status = :claimed, #claimId = :claimId, #claimAttempt = :attempt, #owner = :owner, #claimedAt = :now, #leaseExpiresAt = :lease, #availableAt = :lease, #version = #version + :one, #updatedAt = :now',
              ExpressionAttributeNames: {
                '#endpoint': 'endpoint',
                '#availableAt': 'availableAt',
                '#status': 'status',
                '#claimId': 'claimId',
                '#claimAttempt': 'claimAttempt',
                '#owner': 'owner',
                '#claimedAt': 'claimedAt',
                '#leaseExpiresAt': 'leaseExpiresAt',
                '#version': 'version',
                '#updatedAt': 'updatedAt',
              },
              ExpressionAttributeValues: { ':now': now, ':claimed': 'claimed', ':claimId': claimId, ':attempt': attemptId, ':owner': OWNER, ':lease': leaseExpiresAt, ':one': 1 },
            }),
          ),
          ddb.send(
            new PutCommand({ TableName: claims, Item: record, ConditionExpression: 'attribute_not_exists(#claimId)', ExpressionAttributeNames: { '#claimId': 'claimId' } }),
          ),
        ]);
        const t1 = performance.now();
        claimMs.push(t1 - t0);
        const returned = releasedEndpoints(await invokeHandler(server.release, 'release-claim', releaseRequest(claimId)), claimId);
        releaseMs.push(performance.now() - t1);
        if (returned.length !== 1 || returned[0] !== server.endpoint) throw new Error(`cycle floor: release of ${claimId} returned ${JSON.stringify(returned)}`);
      } finally {
        free.push(server);
      }
    },
  };
}

/** JIT of the handlers (claim-gs and release-claim) before the first measured run, not recorded. */
async function warmUp(ctx: BenchContext, stage: BenchStage): Promise<void> {
  const group = poolGroup('inst-warmup', Date.now() % 100000);
  await registerPool(ctx.env.admin, stage.config, { group, count: 100 });
  const claim = makeClaim(stage.deps);
  const release = makeRelease(stage.deps);
  const deadline = Date.now() + ctx.profile.warmupMs / 2;
  let n = 0;
  while (Date.now() < deadline && n < 400) {
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const claimId = `${group}-${n++}`;
        const outcome = claimOutcome(
          await invokeHandler(claim, 'claim-gs', { method: 'POST', route: '/claim-gs', body: { claimId, region: BENCH_REGION, group, leaseSeconds: BENCH_LEASE_SECONDS } }),
        );
        if (outcome.kind === 'won') releasedEndpoints(await invokeHandler(release, 'release-claim', releaseRequest(claimId)), claimId);
      }),
    );
  }
}
