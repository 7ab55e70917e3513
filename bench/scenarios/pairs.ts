import { makeHandler as makeClaim } from '../../functions/claim-gs';
import { measureClaimRun, poolGroup, poolSizeFor } from '../lib/claim-run';
import type { BenchContext, RunRow } from '../lib/context';
import { createStage } from '../lib/env';
import { invokeHandler } from '../lib/invoke';
import { BENCH_REGION, registerPool } from '../lib/pool';
import { BENCH_LEASE_SECONDS, claimOutcome } from './claims';

/**
 * What a load balancer asks for at start-up: two servers on distinct nodes, all or nothing
 * (`count: 2, distinctNodes: true`), through the claim-gs handler in-process. The pool has two
 * servers per node, so a random pick lands on one node now and then and must be avoided. The
 * ledger also checks that no pair shares a node and (through the table) that no pair is half
 * claimed.
 */
export async function runPairs(ctx: BenchContext, options: { writeRate: number }): Promise<RunRow[]> {
  const stage = await createStage(ctx.env, 'bench-pairs');
  const rows: RunRow[] = [];
  try {
    for (const concurrency of ctx.profile.claimConcurrencies) {
      const group = poolGroup('pairs', 'c', concurrency, Date.now() % 100000);
      // A pair writes three items: at most half the single-write rate in pairs.
      const poolSize = poolSizeFor(options.writeRate / 2, ctx.profile.runMs, concurrency, 2);
      await registerPool(ctx.env.admin, stage.config, { group, count: poolSize, perNode: 2 });
      const handler = makeClaim(stage.deps);
      rows.push(
        await measureClaimRun({
          ctx,
          label: 'claim-gs pairs',
          via: 'in-process',
          concurrency,
          poolSize,
          serversPerWin: 2,
          distinctNodes: true,
          admin: ctx.env.admin,
          table: stage.config.tables.gameServers,
          expectedStatus: 'claimed',
            claimsTable: stage.config.tables.claims,
          counts: () => Promise.resolve(stage.counter.snapshot()),
          attempt: async (_worker, seq) =>
            claimOutcome(
              await invokeHandler(handler, 'claim-gs', {
                method: 'POST',
                route: '/claim-gs',
                body: { claimId: `${group}-${seq}`, region: BENCH_REGION, group, count: 2, distinctNodes: true, leaseSeconds: BENCH_LEASE_SECONDS },
              }),
            ),
        }),
      );
    }
    return rows;
  } finally {
    await stage.destroy();
  }
}
