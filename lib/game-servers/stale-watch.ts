import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import resources from '../../infra/resources.cjs';
import type { GameServerItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { allOf, isConditionFailure, queryAll, updateExpression, writeExpressions } from '../dynamo';
import { shardOf } from './availability-keys';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

/**
 * Shards of the `stale-watch` index. Every heartbeat of a held server rewrites its index entry
 * (the sort key is `freshUntil`): 10^5 held servers beating every 10 s are 10^4 index writes/s,
 * which 16 partitions take (docs/SCALING.md).
 */
export const STALE_WATCH_SHARDS = 16;

const watchKeyOfShard = (shard: number) => `w#${shard}`;

/** The `watch` key of a held server: its shard of the stale-watch index. */
export function staleWatchKey(endpoint: string): string {
  return watchKeyOfShard(shardOf(endpoint, STALE_WATCH_SHARDS));
}

/** Whether a record belongs in the stale-watch index: held by a claim, and not marked stale. */
export function isWatched(item: Pick<GameServerItem, 'status' | 'staleAt'>): boolean {
  return (item.status === 'claimed' || item.status === 'busy') && item.staleAt === undefined;
}

/**
 * The stale mark and the watch key of a record about to be written (pure): a mark stays while no
 * heartbeat has come since it was made (a late copy of an older heartbeat does not clear it); the
 * watch key is there exactly while isWatched holds.
 */
export function withStaleWatch(item: GameServerItem): GameServerItem {
  const { watch: _watch, staleAt, ...rest } = item;
  const stillStale = staleAt !== undefined && rest.freshUntil <= staleAt;
  const marked = stillStale ? { ...rest, staleAt } : rest;
  return isWatched(marked) ? { ...marked, watch: staleWatchKey(item.endpoint) } : marked;
}

/**
 * Endpoints of held servers whose heartbeats stopped before `now`, shard by shard: a Query of the
 * sparse index (keys only), never a Scan. A marked server leaves the index, so each is read once.
 */
export async function findStaleHeldServers(deps: RepoDeps, now: number): Promise<Array<{ endpoint: string; freshUntil: number }>> {
  const index = resources.STALE_WATCH_INDEX;
  const shards = Array.from({ length: STALE_WATCH_SHARDS }, (_, shard) => watchKeyOfShard(shard));
  const found = await Promise.all(
    shards.map((key) =>
      queryAll(deps.ddb, {
        TableName: deps.config.tables.gameServers,
        IndexName: index.indexName,
        KeyConditionExpression: '#watch = :key AND #freshUntil < :now',
        ExpressionAttributeNames: { '#watch': index.partitionKey, '#freshUntil': index.sortKey },
        ExpressionAttributeValues: { ':key': key, ':now': now },
      }),
    ),
  );
  return found.flat().map((item) => ({ endpoint: item.endpoint as string, freshUntil: item.freshUntil as number }));
}

/**
 * Marks a held server stale: `staleAt = now`, out of the watch index, a new version (the change
 * subscribers are told as `gs.stale`). It applies only while the server is still:
 * - watched:  held and not marked (a release or a mark since the Query took it out);
 * - silent:   freshUntil <= now (a heartbeat since the Query makes it fresh: nothing to tell);
 * - held:     claimed or busy.
 * 'not-stale' when any of these no longer holds; a retry of a mark that applied finds it unwatched.
 */
export async function markStale(deps: RepoDeps, endpoint: string, now: number): Promise<'marked' | 'not-stale'> {
  const condition = allOf({
    watched: 'attribute_exists(#watch)',
    silent: '#freshUntil <= :now',
    held: '#status IN (:claimed, :busy)',
  });
  const update = updateExpression({ set: ['#staleAt = :now', '#version = #version + :one', '#updatedAt = :now'], remove: ['#watch'] });
  try {
    await deps.ddb.send(
      new UpdateCommand({
        TableName: deps.config.tables.gameServers,
        Key: { endpoint },
        ...writeExpressions({ condition, update, values: { ':now': now, ':claimed': 'claimed', ':busy': 'busy', ':one': 1 } }),
      }),
    );
    return 'marked';
  } catch (error) {
    if (isConditionFailure(error)) return 'not-stale';
    throw error;
  }
}
