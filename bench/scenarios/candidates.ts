import { randomUUID } from 'node:crypto';
import { claimGameServers } from '../../lib/claims/claim';
import { CandidateCache } from '../../lib/game-servers/candidates';
import { measureClaimRun, poolGroup, poolSizeFor } from '../lib/claim-run';
import type { BenchContext, RunRow } from '../lib/context';
import { createStage } from '../lib/env';
import { BENCH_REGION, registerPool } from '../lib/pool';
import { RANDOM_SHARD_PAGE_SIZE, RandomShardCandidates } from '../lib/random-shard-candidates';
import { BENCH_LEASE_SECONDS } from './claims';

export const CANDIDATE_SHARDS = 16;
export const SHIPPED = 'shipped CandidateCache (one random shard per refresh, page of 100; whole pool as fallback)';
export const RANDOM_SHARD = `alternative: one random shard per refresh, page of ${RANDOM_SHARD_PAGE_SIZE}`;

/**
 * How the candidate strategy behaves when every claimer is its own function instance (as separate
 * Lambda containers are): the lib claim path (claimGameServers: candidates, then the claim
 * transaction) with the shipped CandidateCache, and with an alternative candidate source that
 * lists one random shard per refresh (bench/lib/random-shard-candidates.ts). Same pool shape, AVAILABILITY_SHARDS=16, same concurrency.
 */
export async function runCandidateStrategies(ctx: BenchContext, options: { writeRate: number }): Promise<RunRow[]> {
  const stage = await createStage(ctx.env, 'bench-candidates', { AVAILABILITY_SHARDS: String(CANDIDATE_SHARDS) });
  const rows: RunRow[] = [];
  try {
    const deps = stage.deps;
    const strategies: Array<{ label: string; make: () => CandidateCache }> = [
      { label: SHIPPED, make: () => new CandidateCache(deps, { ttlMs: deps.config.candidateCacheMs }) },
      { label: RANDOM_SHARD, make: () => new RandomShardCandidates(deps, { ttlMs: deps.config.candidateCacheMs, pageSize: RANDOM_SHARD_PAGE_SIZE }) },
    ];
    for (const concurrency of ctx.profile.ownInstanceConcurrencies) {
      for (const strategy of strategies) {
        const group = poolGroup('cand', strategy === strategies[0] ? 'shipped' : 'alt', 'c', concurrency, Date.now() % 100000);
        const poolSize = poolSizeFor(options.writeRate, ctx.profile.runMs, concurrency);
        await registerPool(ctx.env.admin, stage.config, { group, count: poolSize });
        const caches = Array.from({ length: concurrency }, () => strategy.make());
        rows.push(
          await measureClaimRun({
            ctx,
            label: strategy.label,
            via: `lib, 1 instance per claimer, ${CANDIDATE_SHARDS} shards`,
            concurrency,
            poolSize,
            serversPerWin: 1,
            admin: ctx.env.admin,
            table: stage.config.tables.gameServers,
            expectedStatus: 'claimed',
            claimsTable: stage.config.tables.claims,
            counts: () => Promise.resolve(stage.counter.snapshot()),
            attempt: async (worker) => {
              const outcome = await claimGameServers(deps, caches[worker]!, {
                claimId: randomUUID(),
                count: 1,
                region: BENCH_REGION,
                group,
                distinctNodes: false,
                leaseSeconds: BENCH_LEASE_SECONDS,
                holdSeconds: 86_400,
                owner: 'key:bench',
              });
              if (outcome.kind === 'none-available') return { kind: 'miss', reason: `none-available (${outcome.reason})` };
              return { kind: 'won', claimId: outcome.claim.claimId, servers: outcome.servers.map((s) => ({ endpoint: s.endpoint, node: s.node })) };
            },
          }),
        );
      }
    }
    return rows;
  } finally {
    await stage.destroy();
  }
}
