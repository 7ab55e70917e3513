import { PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import resources from '../../infra/resources.cjs';
import { poolPartitionKey } from '../../lib/game-servers/availability-keys';
import { countsSince } from '../lib/ddb';
import { createStage, type BenchStage } from '../lib/env';
import { runClosedLoop } from '../lib/load';
import { BENCH_REGION, registerPool } from '../lib/pool';
import { describeRun, roundTrips, type BenchContext, type RunRow } from '../lib/context';

export const FLOOR_UPDATE = 'UpdateItem (conditional)';
export const FLOOR_TRANSACT = 'TransactWriteItems (Put + conditional Update)';
export const FLOOR_QUERY = 'Query (availability GSI, page of 25)';
export const FLOOR_TWO_WRITES = 'UpdateItem + PutItem, sent together (2 single writes)';

const FLOOR_GROUP = 'floor';

/**
 * The floor: raw DynamoDB Local round trips, through the same SDK client the handlers use, on
 * a game-server table built from infra/resources.cjs (so every write maintains the same GSIs).
 * - UpdateItem: the shape of a claim's server write (conditions on existence and availableAt,
 *   moves availableAt, bumps version);
 * - TransactWriteItems: what one claim needs at minimum as the claim path is built (the claim
 *   record's conditional Put and the server's conditional Update, all or nothing);
 * - Query: one page of the group availability index, as one listing query reads it;
 * - UpdateItem + PutItem sent together: the same two writes without a transaction (what a claim
 *   would cost if the claim record were written beside the server write instead of with it).
 */
export interface FloorOp {
  label: string;
  op: (seq: number) => Promise<unknown>;
}

/** The floor operations against one stage's tables, over `endpoints` (registered servers). */
export function floorOps(stage: BenchStage, endpoints: string[], group: string): FloorOp[] {
  const { gameServers, claims } = stage.config.tables;
  const ddb = stage.deps.ddb;
  let claimSeq = 0;
  const claimId = () => `floor-${stage.config.stage}-${++claimSeq}-${Date.now()}`;
  const update = (seq: number) =>
    new UpdateCommand({
      TableName: gameServers,
      Key: { endpoint: endpoints[seq % endpoints.length] },
      ConditionExpression: 'attribute_exists(#endpoint) AND #availableAt <= :now',
      UpdateExpression: 'SET #availableAt = :availableAt, #version = #version + :one, #updatedAt = :now',
      ExpressionAttributeNames: { '#endpoint': 'endpoint', '#availableAt': 'availableAt', '#version': 'version', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: { ':now': Date.now(), ':availableAt': seq % 1000, ':one': 1 },
    });
  const claimPut = (seq: number) => ({
    TableName: claims,
    Item: { claimId: claimId(), status: 'leased', endpoints: [endpoints[seq % endpoints.length]], createdAt: Date.now() },
    ConditionExpression: 'attribute_not_exists(#claimId)',
    ExpressionAttributeNames: { '#claimId': 'claimId' },
  });
  return [
    { label: FLOOR_UPDATE, op: (seq) => ddb.send(update(seq)) },
    {
      label: FLOOR_TRANSACT,
      op: (seq) => ddb.send(new TransactWriteCommand({ TransactItems: [{ Put: claimPut(seq) }, { Update: update(seq).input as never }] })),
    },
    { label: FLOOR_TWO_WRITES, op: (seq) => Promise.all([ddb.send(update(seq)), ddb.send(new PutCommand(claimPut(seq)))]) },
    {
      label: FLOOR_QUERY,
      op: () =>
        ddb.send(
          new QueryCommand({
            TableName: gameServers,
            IndexName: resources.AVAILABILITY_INDEXES.group.indexName,
            KeyConditionExpression: '#pool = :pool AND #availableAt <= :now',
            FilterExpression: '#freshUntil > :now',
            ExpressionAttributeNames: { '#pool': resources.AVAILABILITY_INDEXES.group.partitionKey, '#availableAt': 'availableAt', '#freshUntil': 'freshUntil' },
            ExpressionAttributeValues: { ':pool': poolPartitionKey('group', { region: BENCH_REGION, group }, 0), ':now': Date.now() },
            Limit: 25,
          }),
        ),
    },
  ];
}

/** One measured run of a floor operation. */
export async function measureFloorOp(ctx: BenchContext, stage: BenchStage, floor: FloorOp, concurrency: number, durationMs: number, via = 'sdk'): Promise<RunRow> {
  const before = stage.counter.snapshot();
  const cpu = ctx.env.cpu.start();
  const result = await runClosedLoop({ concurrency, durationMs, op: async (_w, seq) => (await floor.op(seq), 'ok') });
  const row: RunRow = {
    label: floor.label,
    via,
    concurrency,
    ok: result.ok,
    misses: result.misses,
    errors: result.errors,
    ...(result.firstError ? { firstError: result.firstError } : {}),
    elapsedMs: result.elapsedMs,
    perSec: result.okPerSec,
    latency: result.latency,
    ...roundTrips(countsSince(before, stage.counter.snapshot()), result.ok),
    cpu: cpu(),
  };
  ctx.log(describeRun(row));
  return row;
}

export async function runFloor(ctx: BenchContext): Promise<RunRow[]> {
  const stage = await createStage(ctx.env, 'bench-floor');
  try {
    const servers = await registerPool(ctx.env.admin, stage.config, { group: FLOOR_GROUP, count: 2000 });
    const ops = floorOps(stage, servers.map((s) => s.endpoint), FLOOR_GROUP);
    // Warm-up: JIT of DynamoDB Local and of this process, not recorded.
    for (const { op } of ops) await runClosedLoop({ concurrency: 16, durationMs: ctx.profile.warmupMs / ops.length, op: async (_w, seq) => (await op(seq), 'ok') });
    const rows: RunRow[] = [];
    for (const floor of ops) {
      for (const concurrency of ctx.profile.floorConcurrencies) rows.push(await measureFloorOp(ctx, stage, floor, concurrency, ctx.profile.runMs));
    }
    return rows;
  } finally {
    await stage.destroy();
  }
}
