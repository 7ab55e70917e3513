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
import { allOf, attributeNames, isConditionFailure, putIfVersion } from '../dynamo';
import { ownerClause, type Actor } from '../ownership';
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
  /** The attempt's clock: the server must have been claimable at this time. */
  now: number;
  /** End of the lease; also the server's availableAt, so the index offers it again from then. */
  leaseExpiresAt: number;
  /** What the claimer saw when it picked the server; the write holds only if it still holds. */
  expect: ServerFilter & { node?: string };
  /** The principal making the claim. */
  owner: string;
}

/** Fields a server carries while a claim holds it; releasing removes them all. */
const CLAIM_FIELDS = '#claimId, #claimAttempt, #owner, #claimedAt, #leaseExpiresAt, #holdExpiresAt';

/** The claim attempt holds the server (its own earlier write, or the claim it committed). */
const heldByAttempt = '#claimId = :claimId AND #claimAttempt = :attempt';

/**
 * The conditional update that claims one server under a lease (claimServer sends it).
 * It applies when EITHER the server is free for this attempt:
 * - exists:    the record is there (a missing one is "not found", not "taken");
 * - claimable: availableAt <= now: available, or a lease/hold that has run out. Busy, draining and
 *              terminated servers sit at availableAt = hold end or NEVER. `now` is the attempt's
 *              own clock, so a copy of this write that arrives late (a delayed packet, a retry
 *              after the attempt gave up) finds any later release or lease (availableAt > now)
 *              and does nothing;
 * - fresh:     heartbeated within the timeout (freshUntil > now);
 * - node, region, group, labels: still the server the claimer picked (a new pod may have taken
 *              over the endpoint since the listing), so distinct-node guarantees hold at write time;
 * OR it is this attempt's own earlier write (`ownAttempt`: the SDK retried after a lost answer):
 * then it is success, not a lost race.
 * Effect: status claimed under the lease; availableAt = lease expiry, so the index offers the
 * server again when the lease runs out.
 */
export function claimServerUpdate(tableName: string, update: ClaimServerUpdate) {
  const values: Record<string, unknown> = {
    ':now': update.now,
    ':claimId': update.claimId,
    ':attempt': update.attemptId,
    ':claimed': 'claimed',
    ':lease': update.leaseExpiresAt,
    ':owner': update.owner,
    ':one': 1,
  };
  const free: Record<string, string> = {
    exists: 'attribute_exists(#endpoint)',
    claimable: '#availableAt <= :now',
    fresh: '#freshUntil > :now',
  };
  const expect = update.expect;
  for (const field of ['node', 'region', 'group'] as const) {
    if (expect[field] === undefined) continue;
    values[`:${field}`] = expect[field];
    free[field] = `#${field} = :${field}`;
  }
  const labelNames: Record<string, string> = {};
  Object.entries(expect.labels ?? {}).forEach(([key, value], i) => {
    labelNames[`#lk${i}`] = key;
    values[`:lv${i}`] = value;
    free[`label${i}`] = `#labels.#lk${i} = :lv${i}`;
  });
  const ownAttempt = `${heldByAttempt} AND #status = :claimed`;
  const condition = `(${allOf(free)}) OR (${ownAttempt})`;
  const updateExpression =
    'SET #status = :claimed, #claimId = :claimId, #claimAttempt = :attempt, #owner = :owner, #claimedAt = :now, #leaseExpiresAt = :lease, #availableAt = :lease, #version = #version + :one, #updatedAt = :now REMOVE #holdExpiresAt';
  const names = attributeNames(condition, updateExpression);
  for (const placeholder of Object.keys(labelNames)) delete names[placeholder];
  return {
    TableName: tableName,
    Key: { endpoint: update.endpoint },
    ConditionExpression: condition,
    UpdateExpression: updateExpression,
    ExpressionAttributeNames: { ...names, ...labelNames },
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

/** A transaction item's Update for one server of a claim (the claims repo sends them). */
export interface ServerTransition {
  TableName: string;
  Key: { endpoint: string };
  ConditionExpression: string;
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
  ReturnValuesOnConditionCheckFailure: 'ALL_OLD';
}

/** One server's conditional update: `set` and `remove` are the clauses of the change itself. */
function serverTransition(
  tableName: string,
  endpoint: string,
  condition: string,
  change: { set?: string; remove?: string },
  values: Record<string, unknown>,
): ServerTransition {
  const sets = [change.set, '#version = #version + :one, #updatedAt = :now'].filter(Boolean).join(', ');
  const update = `SET ${sets}${change.remove ? ` REMOVE ${change.remove}` : ''}`;
  return {
    TableName: tableName,
    Key: { endpoint },
    ConditionExpression: condition,
    UpdateExpression: update,
    ExpressionAttributeNames: attributeNames(condition, update),
    ExpressionAttributeValues: { ...values, ':one': 1 },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

interface HeldServer {
  endpoint: string;
  claimId: string;
  attemptId: string;
  now: number;
}

/**
 * Confirm, for one server: claimed by this attempt (even past its lease, as long as nobody else
 * claimed it since) and still fresh -> busy until `holdExpiresAt`, which is also its availableAt:
 * a holder that stops renewing gets its server back in the pool when the hold runs out.
 */
export function confirmServerTransition(tableName: string, server: HeldServer & { holdExpiresAt: number }): ServerTransition {
  return serverTransition(
    tableName,
    server.endpoint,
    `${heldByAttempt} AND #status = :claimed AND #freshUntil > :now`,
    { set: '#status = :busy, #holdExpiresAt = :hold, #availableAt = :hold', remove: '#leaseExpiresAt' },
    { ':claimId': server.claimId, ':attempt': server.attemptId, ':claimed': 'claimed', ':busy': 'busy', ':now': server.now, ':hold': server.holdExpiresAt },
  );
}

/**
 * Renew, for one server: still held by this attempt in the given status (claimed: the lease
 * moves; busy: the hold moves) and fresh. availableAt follows the new deadline.
 */
export function renewServerTransition(tableName: string, server: HeldServer & { status: 'claimed' | 'busy'; until: number }): ServerTransition {
  const deadline = server.status === 'claimed' ? '#leaseExpiresAt' : '#holdExpiresAt';
  return serverTransition(
    tableName,
    server.endpoint,
    `${heldByAttempt} AND #status = :status AND #freshUntil > :now`,
    { set: `${deadline} = :until, #availableAt = :until` },
    { ':claimId': server.claimId, ':attempt': server.attemptId, ':status': server.status, ':now': server.now, ':until': server.until },
  );
}

/**
 * Release, for one server this attempt holds. A claimed or busy server returns to the pool
 * (availableAt = now: at the back of the oldest-available-first order). A draining or terminated
 * one keeps its status and only drops the claim, so that an un-drained node cannot bring the
 * claim back.
 */
export function releaseServerTransition(tableName: string, server: HeldServer & { status: GameServerItem['status'] }): ServerTransition {
  const inPool = server.status === 'claimed' || server.status === 'busy';
  return serverTransition(
    tableName,
    server.endpoint,
    `${heldByAttempt} AND #status IN (${inPool ? ':claimed, :busy' : ':draining, :terminated'})`,
    inPool ? { set: '#status = :available, #availableAt = :now', remove: CLAIM_FIELDS } : { remove: CLAIM_FIELDS },
    {
      ':claimId': server.claimId,
      ':attempt': server.attemptId,
      ':now': server.now,
      ...(inPool ? { ':claimed': 'claimed', ':busy': 'busy', ':available': 'available' } : { ':draining': 'draining', ':terminated': 'terminated' }),
    },
  );
}

/**
 * set-gs-busy in one conditional write on the server record (no claim record: the endpoint is
 * fixed, so the record itself is the idempotency key). A "direct" hold: no claim attempt.
 * Condition: the server exists and is claimable now (available, or a lease/hold run out, and
 * fresh) — or it is already busy under this very claim id as a direct hold of this owner, which
 * makes a repeated call succeed with the same server and renews the hold (another principal
 * repeating the claim id finds the server not available, whatever its role).
 * Effect: busy until `holdExpiresAt` (its availableAt: the server comes back by itself), owned by
 * `owner`.
 */
export async function setServerBusy(
  deps: RepoDeps,
  hold: { endpoint: string; claimId: string; owner: string; now: number; holdExpiresAt: number },
): Promise<{ kind: 'busy'; item: GameServerItem } | { kind: 'refused'; current?: GameServerItem }> {
  const own = ownerClause({ principal: hold.owner, admin: false }).clause!;
  const condition = allOf({
    exists: 'attribute_exists(#endpoint)',
    freeOrOwn: `(#availableAt <= :now AND #freshUntil > :now) OR (#claimId = :claimId AND #status = :busy AND attribute_not_exists(#claimAttempt) AND (${own}))`,
  });
  const update =
    'SET #status = :busy, #claimId = :claimId, #owner = :owner, #claimedAt = :now, #holdExpiresAt = :hold, #availableAt = :hold, #version = #version + :one, #updatedAt = :now REMOVE #leaseExpiresAt, #claimAttempt';
  try {
    const result = await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.config.tables.gameServers,
        Key: { endpoint: hold.endpoint },
        ConditionExpression: condition,
        UpdateExpression: update,
        ExpressionAttributeNames: attributeNames(condition, update),
        ExpressionAttributeValues: { ':now': hold.now, ':claimId': hold.claimId, ':owner': hold.owner, ':busy': 'busy', ':hold': hold.holdExpiresAt, ':one': 1 },
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

/** Who releases a server: an uncommitted claim attempt being undone, or a direct hold's holder. */
export type ServerHolder = { attemptId: string } | { directHold: Actor };

/**
 * Returns a server to the pool if the given holder still holds it (claimed or busy): a claim
 * attempt that is being undone (`attemptId`), or a direct set-gs-busy hold of this actor (no
 * attempt: servers of a claim record are released with their claim, all together; another
 * principal's hold is not this actor's to release unless it is an admin). Draining and terminated
 * servers, and servers held by anyone else, are left alone ('not-held').
 */
export async function releaseServer(deps: RepoDeps, endpoint: string, claimId: string, now: number, holder: ServerHolder): Promise<'released' | 'not-held'> {
  const owner = 'directHold' in holder ? ownerClause(holder.directHold) : { values: {} };
  const held = 'attemptId' in holder ? heldByAttempt : `#claimId = :claimId AND attribute_not_exists(#claimAttempt)${owner.clause ? ` AND (${owner.clause})` : ''}`;
  const condition = `${held} AND #status IN (:claimed, :busy)`;
  const update = `SET #status = :available, #availableAt = :now, #version = #version + :one, #updatedAt = :now REMOVE ${CLAIM_FIELDS}`;
  try {
    await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.config.tables.gameServers,
        Key: { endpoint },
        ConditionExpression: condition,
        UpdateExpression: update,
        ExpressionAttributeNames: attributeNames(condition, update),
        ExpressionAttributeValues: {
          ':claimId': claimId,
          ':claimed': 'claimed',
          ':busy': 'busy',
          ':available': 'available',
          ':now': now,
          ':one': 1,
          ...('attemptId' in holder ? { ':attempt': holder.attemptId } : owner.values),
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
): Promise<Array<Pick<GameServerItem, 'status' | 'region' | 'freshUntil' | 'leaseExpiresAt' | 'holdExpiresAt'>>> {
  const index = resources.AVAILABILITY_INDEXES.all;
  const shards = Array.from({ length: deps.config.availabilityShards }, (_, shard) => shard);
  const perShard = await Promise.all(
    shards.map(async (shard) => {
      const facts: Array<Pick<GameServerItem, 'status' | 'region' | 'freshUntil' | 'leaseExpiresAt' | 'holdExpiresAt'>> = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const result: QueryCommandOutput = await deps.ddb.send(
          new QueryCommand({
            TableName: deps.config.tables.gameServers,
            IndexName: index.indexName,
            KeyConditionExpression: '#pool = :pool',
            ProjectionExpression: '#status, #region, #freshUntil, #leaseExpiresAt, #holdExpiresAt',
            ExpressionAttributeNames: {
              '#pool': index.partitionKey,
              '#status': 'status',
              '#region': 'region',
              '#freshUntil': 'freshUntil',
              '#leaseExpiresAt': 'leaseExpiresAt',
              '#holdExpiresAt': 'holdExpiresAt',
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
