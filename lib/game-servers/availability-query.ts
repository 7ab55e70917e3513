import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import resources from '../../infra/resources.cjs';
import type { GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { attributeNames, queryAll } from '../dynamo';
import { indexForPool, poolPartitionKey } from './availability-keys';
import { claimableFrom, claimableNow, isFresh, positionedBefore } from './conditions';
import { parseGameServerItem } from './records';
import type { ServerFilter } from './select';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

export interface AvailablePageQuery extends ServerFilter {
  now: number;
  /** Items DynamoDB evaluates per page (before the filter). */
  pageSize: number;
  shard: number;
  /**
   * Which part of the claimable range (default: all of it, from the first pool position):
   * `from` a pool position on (available servers from there, then run-out leases and holds), or
   * the available servers `before` a pool position (what a window from there wraps around to).
   */
  window?: { from: number } | { before: number };
  exclusiveStartKey?: Record<string, unknown>;
}

function windowKeyCondition(window: AvailablePageQuery['window']): { condition: string; values: Record<string, number> } {
  if (window === undefined) return { condition: claimableNow, values: {} };
  if ('from' in window) return { condition: claimableFrom, values: { ':from': window.from } };
  return { condition: positionedBefore, values: { ':before': window.before } };
}

/**
 * Filter clauses for what the index key cannot express: freshness, labels, a group without a
 * region. Label keys are data, not identifiers: each gets a placeholder of its own (`names`).
 */
function availabilityFilter(query: AvailablePageQuery) {
  const clauses = [isFresh];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  if (query.group !== undefined && indexForPool(query) !== 'group') {
    clauses.push('#group = :group');
    values[':group'] = query.group;
  }
  Object.entries(query.labels ?? {}).forEach(([key, value], i) => {
    clauses.push(`#labels.#lk${i} = :lv${i}`);
    names[`#lk${i}`] = key;
    values[`:lv${i}`] = value;
  });
  return { expression: clauses.join(' AND '), names, values };
}

/**
 * One page of one shard of a pool's availability index: servers claimable now (`availableAt <=
 * now`: available ones, at their pool positions in [0, 1), then claims and holds that ran out, at
 * their ends; busy/draining/terminated sit later, up to NEVER), still fresh, matching the labels,
 * in that order. Cost follows the page, never the table. The index is eventually consistent: the
 * claim's condition expression is the judge.
 */
export async function queryAvailablePage(
  deps: RepoDeps,
  query: AvailablePageQuery,
): Promise<{ items: GameServerItem[]; lastEvaluatedKey?: Record<string, unknown> }> {
  const kind = indexForPool(query);
  const index = resources.AVAILABILITY_INDEXES[kind];
  const filter = availabilityFilter(query);
  // The index's partition is the pool's shard; its sort key, availableAt, bounds what is claimable.
  const range = windowKeyCondition(query.window);
  const keyCondition = `#pool = :pool AND ${range.condition}`;
  const result = await deps.ddb.send(
    new QueryCommand({
      TableName: deps.config.tables.gameServers,
      IndexName: index.indexName,
      KeyConditionExpression: keyCondition,
      FilterExpression: filter.expression,
      ExpressionAttributeNames: { ...attributeNames(keyCondition, filter.expression), '#pool': index.partitionKey, ...filter.names },
      ExpressionAttributeValues: { ':pool': poolPartitionKey(kind, query, query.shard), ':now': query.now, ...range.values, ...filter.values },
      Limit: query.pageSize,
      ...(query.exclusiveStartKey ? { ExclusiveStartKey: query.exclusiveStartKey } : {}),
    }),
  );
  return {
    items: (result.Items ?? []).map(parseGameServerItem),
    ...(result.LastEvaluatedKey ? { lastEvaluatedKey: result.LastEvaluatedKey } : {}),
  };
}

/** What the inventory report reads of each record. */
export type InventoryFact = Pick<GameServerItem, 'status' | 'region' | 'freshUntil' | 'leaseExpiresAt' | 'holdExpiresAt'>;

/**
 * Every record of a pool (all, a region, a region and group), whatever its status, projected to
 * `attributes`: every shard of the pool's availability index, read whole with Query (never Scan),
 * shards side by side. Its cost grows with the pool: for reports and dashboards, cached by their
 * callers, never for the claim path. `group` without a region filters the pool-wide index.
 */
export async function readWholePool<T>(deps: RepoDeps, pool: { region?: string; group?: string }, attributes: readonly string[]): Promise<T[]> {
  const kind = pool.region === undefined ? 'all' : indexForPool(pool);
  const index = resources.AVAILABILITY_INDEXES[kind];
  const groupFilter = pool.group !== undefined && kind !== 'group' ? '#group = :group' : undefined;
  const projection = attributes.map((name) => `#${name}`).join(', ');
  const shards = Array.from({ length: deps.config.availabilityShards }, (_, shard) => shard);
  const perShard = await Promise.all(
    shards.map(
      (shard) =>
        queryAll(deps.ddb, {
          TableName: deps.config.tables.gameServers,
          IndexName: index.indexName,
          KeyConditionExpression: '#pool = :pool',
          ProjectionExpression: projection,
          ...(groupFilter ? { FilterExpression: groupFilter } : {}),
          ExpressionAttributeNames: { '#pool': index.partitionKey, ...attributeNames(projection, groupFilter ?? '') },
          ExpressionAttributeValues: { ':pool': poolPartitionKey(kind, pool, shard), ...(groupFilter ? { ':group': pool.group } : {}) },
        }) as Promise<T[]>,
    ),
  );
  return perShard.flat();
}

/** The status, region and liveness of every record, for the inventory report (callers cache it). */
export function readInventoryFacts(deps: RepoDeps): Promise<InventoryFact[]> {
  return readWholePool<InventoryFact>(deps, {}, ['status', 'region', 'freshUntil', 'leaseExpiresAt', 'holdExpiresAt']);
}
