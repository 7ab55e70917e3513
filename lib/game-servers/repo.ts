import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import resources from '../../infra/resources.cjs';
import { GameServerItemSchema, type GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { isConditionFailure, versionCondition } from '../dynamo';
import { indexForPool, poolPartitionKey, type PoolFilter } from './availability-keys';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

export async function getGameServer(deps: RepoDeps, endpoint: string): Promise<GameServerItem | undefined> {
  const result = await deps.ddb.send(
    new GetCommand({ TableName: deps.config.tables.gameServers, Key: { endpoint }, ConsistentRead: true }),
  );
  return result.Item ? GameServerItemSchema.parse(result.Item) : undefined;
}

/**
 * Writes the whole record if it is still at `expectedVersion` (undefined: if it does not exist).
 * Returns 'conflict' when someone else (another event, a claim) wrote it in between.
 */
export async function putGameServerIfVersion(
  deps: RepoDeps,
  item: GameServerItem,
  expectedVersion: number | undefined,
): Promise<'written' | 'conflict'> {
  try {
    await deps.ddb.send(
      new PutCommand({ TableName: deps.config.tables.gameServers, Item: item, ...versionCondition(expectedVersion) }),
    );
    return 'written';
  } catch (error) {
    if (isConditionFailure(error)) return 'conflict';
    throw error;
  }
}

export interface AvailableQuery extends PoolFilter {
  now: number;
  /** Items to read per shard (a page). */
  pageSize: number;
  shard: number;
  exclusiveStartKey?: Record<string, unknown>;
}

/**
 * One page of one shard of a pool's availability index: servers claimable now (`availableAt <=
 * now`, so leased claims are skipped by the key condition) that are still fresh. Oldest-available
 * first. Cost follows the page size, never the table size.
 */
export async function queryAvailablePage(
  deps: RepoDeps,
  query: AvailableQuery,
): Promise<{ items: GameServerItem[]; lastEvaluatedKey?: Record<string, unknown> }> {
  const kind = indexForPool(query);
  const index = resources.AVAILABILITY_INDEXES[kind];
  const result = await deps.ddb.send(
    new QueryCommand({
      TableName: deps.config.tables.gameServers,
      IndexName: index.indexName,
      KeyConditionExpression: '#pool = :pool AND #availableAt <= :now',
      // Stale servers (no heartbeat within the timeout) stay in the index until they
      // heartbeat again or TTL removes them; they are filtered, never offered.
      FilterExpression: '#freshUntil > :now',
      ExpressionAttributeNames: { '#pool': index.partitionKey, '#availableAt': 'availableAt', '#freshUntil': 'freshUntil' },
      ExpressionAttributeValues: { ':pool': poolPartitionKey(kind, query, query.shard), ':now': query.now },
      Limit: query.pageSize,
      ...(query.exclusiveStartKey ? { ExclusiveStartKey: query.exclusiveStartKey } : {}),
    }),
  );
  return {
    items: (result.Items ?? []).map((item) => GameServerItemSchema.parse(item)),
    ...(result.LastEvaluatedKey ? { lastEvaluatedKey: result.LastEvaluatedKey } : {}),
  };
}
