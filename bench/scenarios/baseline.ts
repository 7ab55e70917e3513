import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import resources from '../../infra/resources.cjs';
import { poolPartitionKey } from '../../lib/game-servers/availability-keys';
import { NEVER } from '../../schemas/items';
import { measureClaimRun, poolGroup, poolSizeFor } from '../lib/claim-run';
import type { BenchContext, RunRow } from '../lib/context';
import { createStage } from '../lib/env';
import { BENCH_REGION, registerPool } from '../lib/pool';

export const BASELINE_LABEL = 'baseline: GSI query, first item, unconditional put';

/**
 * The replaced sample's claim strategy on the same table, pool shape and concurrency: query the
 * availability index for the pool, take the first item, and put it back as busy without any
 * condition. Every caller that gets a 200 believes it owns the server; the ledger shows how many
 * servers were handed to more than one caller, and the table keeps only the last writer.
 */
export async function runBaseline(ctx: BenchContext, options: { updateRate: number }): Promise<RunRow[]> {
  const stage = await createStage(ctx.env, 'bench-baseline');
  const rows: RunRow[] = [];
  try {
    const ddb = stage.deps.ddb;
    const index = resources.AVAILABILITY_INDEXES.group;
    const shards = stage.config.availabilityShards;
    for (const concurrency of ctx.profile.claimConcurrencies) {
      const group = poolGroup('baseline', 'c', concurrency, Date.now() % 100000);
      // One query and one put per claim: at most half the raw write rate in claims.
      const poolSize = poolSizeFor(options.updateRate / 2, ctx.profile.runMs, concurrency);
      await registerPool(ctx.env.admin, stage.config, { group, count: poolSize });
      rows.push(
        await measureClaimRun({
          ctx,
          label: 'baseline',
          via: 'sdk',
          concurrency,
          poolSize,
          serversPerWin: 1,
          admin: ctx.env.admin,
          table: stage.config.tables.gameServers,
          expectedStatus: 'busy',
          counts: () => Promise.resolve(stage.counter.snapshot()),
          attempt: async (_worker, seq) => {
            const now = Date.now();
            const found = await ddb.send(
              new QueryCommand({
                TableName: stage.config.tables.gameServers,
                IndexName: index.indexName,
                KeyConditionExpression: '#pool = :pool AND #availableAt <= :now',
                ExpressionAttributeNames: { '#pool': index.partitionKey, '#availableAt': 'availableAt' },
                ExpressionAttributeValues: { ':pool': poolPartitionKey('group', { region: BENCH_REGION, group }, seq % shards), ':now': now },
                Limit: 1,
              }),
            );
            const first = found.Items?.[0];
            if (!first) return { kind: 'miss' };
            const claimId = `${group}-${seq}`;
            await ddb.send(
              new PutCommand({
                TableName: stage.config.tables.gameServers,
                Item: { ...first, status: 'busy', availableAt: NEVER, claimId, claimedAt: now, version: (first.version as number) + 1, updatedAt: now },
              }),
            );
            return { kind: 'won', claimId, servers: [{ endpoint: first.endpoint as string }] };
          },
        }),
      );
    }
    return rows;
  } finally {
    await stage.destroy();
  }
}
