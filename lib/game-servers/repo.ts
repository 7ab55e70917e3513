import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  GetCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import resources from '../../infra/resources.cjs';
import { GameServerItemSchema, NEVER, type GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { isConditionFailure, putIfVersion } from '../dynamo';
import { indexForPool, poolPartitionKey } from './availability-keys';
import type { ServerFilter } from './select';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

const parseItem = (item: Record<string, unknown>) => GameServerItemSchema.parse(item);

export async function getGameServer(deps: RepoDeps, endpoint: string): Promise<GameServerItem | undefined> {
  const result = await deps.ddb.send(
    new GetCommand({ TableName: deps.config.tables.gameServers, Key: { endpoint }, ConsistentRead: true }),
  );
  return result.Item ? parseItem(result.Item) : undefined;
}

/** Reads several records (consistent) in one round trip per 100 keys; missing ones are absent. */
export async function getGameServers(deps: RepoDeps, endpoints: string[]): Promise<Map<string, GameServerItem>> {
  const found = new Map<string, GameServerItem>();
  for (let i = 0; i < endpoints.length; i += 100) {
    let keys: Record<string, unknown>[] | undefined = endpoints.slice(i, i + 100).map((endpoint) => ({ endpoint }));
    while (keys && keys.length > 0) {
      const result: BatchGetCommandOutput = await deps.ddb.send(
        new BatchGetCommand({ RequestItems: { [deps.config.tables.gameServers]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of result.Responses?.[deps.config.tables.gameServers] ?? []) found.set(item.endpoint, parseItem(item));
      keys = result.UnprocessedKeys?.[deps.config.tables.gameServers]?.Keys;
    }
  }
  return found;
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
  return putIfVersion(deps.ddb, { name: deps.config.tables.gameServers, key: 'endpoint' }, item, expectedVersion);
}

export interface AvailablePageQuery extends ServerFilter {
  now: number;
  /** Items DynamoDB evaluates per page (before the filter). */
  pageSize: number;
  shard: number;
  exclusiveStartKey?: Record<string, unknown>;
}

/** Filter clauses for what the index key cannot express: freshness, labels, a group without a region. */
function availabilityFilter(query: AvailablePageQuery) {
  const clauses = ['#freshUntil > :now'];
  const names: Record<string, string> = { '#freshUntil': 'freshUntil' };
  const values: Record<string, unknown> = {};
  if (query.group !== undefined && indexForPool(query) !== 'group') {
    clauses.push('#group = :group');
    names['#group'] = 'group';
    values[':group'] = query.group;
  }
  Object.entries(query.labels ?? {}).forEach(([key, value], i) => {
    clauses.push(`#labels.#lk${i} = :lv${i}`);
    names['#labels'] = 'labels';
    names[`#lk${i}`] = key;
    values[`:lv${i}`] = value;
  });
  return { clauses, names, values };
}

/**
 * One page of one shard of a pool's availability index: servers claimable now (`availableAt <=
 * now`: available ones and claims whose lease ran out; busy/draining/terminated sit at NEVER),
 * still fresh, matching the labels. Oldest-available first. Cost follows the page, never the
 * table. The index is eventually consistent: the claim's condition expression is the judge.
 */
export async function queryAvailablePage(
  deps: RepoDeps,
  query: AvailablePageQuery,
): Promise<{ items: GameServerItem[]; lastEvaluatedKey?: Record<string, unknown> }> {
  const kind = indexForPool(query);
  const index = resources.AVAILABILITY_INDEXES[kind];
  const filter = availabilityFilter(query);
  const result = await deps.ddb.send(
    new QueryCommand({
      TableName: deps.config.tables.gameServers,
      IndexName: index.indexName,
      KeyConditionExpression: '#pool = :pool AND #availableAt <= :now',
      FilterExpression: filter.clauses.join(' AND '),
      ExpressionAttributeNames: { '#pool': index.partitionKey, '#availableAt': 'availableAt', ...filter.names },
      ExpressionAttributeValues: { ':pool': poolPartitionKey(kind, query, query.shard), ':now': query.now, ...filter.values },
      Limit: query.pageSize,
      ...(query.exclusiveStartKey ? { ExclusiveStartKey: query.exclusiveStartKey } : {}),
    }),
  );
  return {
    items: (result.Items ?? []).map(parseItem),
    ...(result.LastEvaluatedKey ? { lastEvaluatedKey: result.LastEvaluatedKey } : {}),
  };
}

export interface ClaimServerUpdate {
  endpoint: string;
  claimId: string;
  /** The claim attempt, recorded on the server (see ClaimItem.attemptId). */
  attemptId: string;
  now: number;
  /** End of the lease; also the server's availableAt, so the index offers it again from then. */
  leaseExpiresAt: number;
  /** What the claimer saw when it picked the server; the write holds only if it still holds. */
  expect: ServerFilter & { node?: string };
}

/**
 * The conditional update that claims one server under a lease (claimServer sends it).
 * Condition clauses:
 * - exists:    the record is there (a missing one is "not found", not "taken");
 * - claimable: availableAt <= now, i.e. available, or claimed with a lease that has run out.
 *              Busy, draining and terminated servers sit at availableAt = NEVER;
 * - fresh:     heartbeated within the timeout (freshUntil > now);
 * - node, region, group, labels: still the server the claimer picked (a new pod may have taken
 *              over the endpoint since the listing), so distinct-node guarantees hold at write time.
 * Effect: status claimed under the lease; availableAt = lease expiry, so the index offers the
 * server again when the lease runs out.
 */
export function claimServerUpdate(tableName: string, update: ClaimServerUpdate) {
  const names: Record<string, string> = {
    '#endpoint': 'endpoint',
    '#availableAt': 'availableAt',
    '#freshUntil': 'freshUntil',
    '#status': 'status',
    '#claimId': 'claimId',
    '#claimAttempt': 'claimAttempt',
    '#claimedAt': 'claimedAt',
    '#leaseExpiresAt': 'leaseExpiresAt',
    '#version': 'version',
    '#updatedAt': 'updatedAt',
  };
  const values: Record<string, unknown> = {
    ':now': update.now,
    ':claimId': update.claimId,
    ':attempt': update.attemptId,
    ':claimed': 'claimed',
    ':lease': update.leaseExpiresAt,
    ':one': 1,
  };
  const clauses = {
    exists: 'attribute_exists(#endpoint)',
    claimable: '#availableAt <= :now',
    fresh: '#freshUntil > :now',
  } as Record<string, string>;
  const expect = update.expect;
  for (const field of ['node', 'region', 'group'] as const) {
    if (expect[field] === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = expect[field];
    clauses[field] = `#${field} = :${field}`;
  }
  Object.entries(expect.labels ?? {}).forEach(([key, value], i) => {
    names['#labels'] = 'labels';
    names[`#lk${i}`] = key;
    values[`:lv${i}`] = value;
    clauses[`label${i}`] = `#labels.#lk${i} = :lv${i}`;
  });

  return {
    TableName: tableName,
    Key: { endpoint: update.endpoint },
    ConditionExpression: Object.values(clauses).join(' AND '),
    UpdateExpression:
      'SET #status = :claimed, #claimId = :claimId, #claimAttempt = :attempt, #claimedAt = :now, #leaseExpiresAt = :lease, #availableAt = :lease, #version = #version + :one, #updatedAt = :now',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/**
 * Claims one server with a single conditional write (see claimServerUpdate). 'refused' carries
 * the server's current record (absent: it does not exist).
 */
export async function claimServer(
  deps: RepoDeps,
  update: ClaimServerUpdate,
): Promise<{ kind: 'claimed' } | { kind: 'refused'; current?: GameServerItem }> {
  try {
    await deps.ddb.send(new UpdateCommand(claimServerUpdate(deps.config.tables.gameServers, update)));
    return { kind: 'claimed' };
  } catch (error) {
    if (isConditionFailure(error)) return { kind: 'refused', ...(error.Item ? { current: parseItem(unmarshall(error.Item)) } : {}) };
    throw error;
  }
}

/**
 * Confirms a leased server: claimed by this claim id (even past its lease, as long as nobody
 * else claimed it since) and still fresh -> busy, lease cleared, out of the index.
 */
export function confirmServerUpdate(tableName: string, endpoint: string, claimId: string, attemptId: string, now: number) {
  return {
    TableName: tableName,
    Key: { endpoint },
    ConditionExpression: '#claimId = :claimId AND #claimAttempt = :attempt AND #status IN (:claimed, :busy) AND #freshUntil > :now',
    UpdateExpression:
      'SET #status = :busy, #availableAt = :never, #version = #version + :one, #updatedAt = :now REMOVE #leaseExpiresAt',
    ExpressionAttributeNames: {
      '#claimId': 'claimId',
      '#claimAttempt': 'claimAttempt',
      '#status': 'status',
      '#freshUntil': 'freshUntil',
      '#availableAt': 'availableAt',
      '#version': 'version',
      '#updatedAt': 'updatedAt',
      '#leaseExpiresAt': 'leaseExpiresAt',
    },
    ExpressionAttributeValues: { ':claimId': claimId, ':attempt': attemptId, ':claimed': 'claimed', ':busy': 'busy', ':now': now, ':never': NEVER, ':one': 1 },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/**
 * set-gs-busy in one conditional write on the server record (no claim record: the endpoint is
 * fixed, so the record itself is the idempotency key). Condition: the server exists and is
 * claimable now (available or lease expired, and fresh) — or it is already busy under this very
 * claim id, which makes a repeated call succeed with the same result.
 */
export async function setServerBusy(
  deps: RepoDeps,
  endpoint: string,
  claimId: string,
  now: number,
): Promise<{ kind: 'busy'; item: GameServerItem } | { kind: 'refused'; current?: GameServerItem }> {
  try {
    const result = await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.config.tables.gameServers,
        Key: { endpoint },
        ConditionExpression:
          'attribute_exists(#endpoint) AND ((#availableAt <= :now AND #freshUntil > :now) OR (#claimId = :claimId AND #status = :busy))',
        UpdateExpression:
          'SET #status = :busy, #claimId = :claimId, #claimedAt = if_not_exists(#claimedAt, :now), #availableAt = :never, #version = #version + :one, #updatedAt = :now REMOVE #leaseExpiresAt, #claimAttempt',
        ExpressionAttributeNames: {
          '#endpoint': 'endpoint',
          '#availableAt': 'availableAt',
          '#freshUntil': 'freshUntil',
          '#claimId': 'claimId',
          '#status': 'status',
          '#claimedAt': 'claimedAt',
          '#version': 'version',
          '#updatedAt': 'updatedAt',
          '#leaseExpiresAt': 'leaseExpiresAt',
          '#claimAttempt': 'claimAttempt',
        },
        ExpressionAttributeValues: { ':now': now, ':claimId': claimId, ':busy': 'busy', ':never': NEVER, ':one': 1 },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { kind: 'busy', item: parseItem(result.Attributes!) };
  } catch (error) {
    if (isConditionFailure(error)) return { kind: 'refused', ...(error.Item ? { current: parseItem(unmarshall(error.Item)) } : {}) };
    throw error;
  }
}

/**
 * Returns a server to the pool if this claim still holds it (claimed or busy). Draining and
 * terminated servers, and servers re-claimed by someone else, are left alone ('not-held').
 * availableAt = now puts it at the back of the oldest-available-first order.
 */
export async function releaseServer(
  deps: RepoDeps,
  endpoint: string,
  claimId: string,
  now: number,
  /** Only if this attempt of the claim holds it (undoing a claim attempt that failed as a whole). */
  attemptId?: string,
): Promise<'released' | 'not-held'> {
  try {
    await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.config.tables.gameServers,
        Key: { endpoint },
        ConditionExpression: `#claimId = :claimId AND #status IN (:claimed, :busy)${attemptId !== undefined ? ' AND #claimAttempt = :attempt' : ''}`,
        UpdateExpression:
          'SET #status = :available, #availableAt = :now, #version = #version + :one, #updatedAt = :now REMOVE #claimId, #claimAttempt, #claimedAt, #leaseExpiresAt',
        ExpressionAttributeNames: {
          '#claimId': 'claimId',
          '#claimAttempt': 'claimAttempt',
          '#status': 'status',
          '#availableAt': 'availableAt',
          '#version': 'version',
          '#updatedAt': 'updatedAt',
          '#claimedAt': 'claimedAt',
          '#leaseExpiresAt': 'leaseExpiresAt',
        },
        ExpressionAttributeValues: {
          ':claimId': claimId,
          ':claimed': 'claimed',
          ':busy': 'busy',
          ':available': 'available',
          ':now': now,
          ':one': 1,
          ...(attemptId !== undefined ? { ':attempt': attemptId } : {}),
        },
      }),
    );
    return 'released';
  } catch (error) {
    if (isConditionFailure(error)) return 'not-held';
    throw error;
  }
}

/**
 * Reads the status, region and liveness of every record, for the inventory report: the one
 * request about the whole table. It walks every shard of the pool-wide availability index
 * (which holds every record) with Query, projected to four small attributes; no Scan. Callers
 * cache the result.
 */
export async function readInventoryFacts(
  deps: RepoDeps,
): Promise<Array<Pick<GameServerItem, 'status' | 'region' | 'freshUntil' | 'leaseExpiresAt'>>> {
  const index = resources.AVAILABILITY_INDEXES.all;
  const shards = Array.from({ length: deps.config.availabilityShards }, (_, shard) => shard);
  const perShard = await Promise.all(
    shards.map(async (shard) => {
      const facts: Array<Pick<GameServerItem, 'status' | 'region' | 'freshUntil' | 'leaseExpiresAt'>> = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const result: QueryCommandOutput = await deps.ddb.send(
          new QueryCommand({
            TableName: deps.config.tables.gameServers,
            IndexName: index.indexName,
            KeyConditionExpression: '#pool = :pool',
            ProjectionExpression: '#status, #region, #freshUntil, #leaseExpiresAt',
            ExpressionAttributeNames: {
              '#pool': index.partitionKey,
              '#status': 'status',
              '#region': 'region',
              '#freshUntil': 'freshUntil',
              '#leaseExpiresAt': 'leaseExpiresAt',
            },
            ExpressionAttributeValues: { ':pool': poolPartitionKey('all', {}, shard) },
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        for (const item of result.Items ?? []) facts.push(item as (typeof facts)[number]);
        startKey = result.LastEvaluatedKey;
      } while (startKey);
      return facts;
    }),
  );
  return perShard.flat();
}
