import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import resources from '../../infra/resources.cjs';
import type { NotificationEvent } from '../../schemas/events';
import type { FeedEvent } from '../../schemas/http';
import type { Deps } from '../deps';
import { claimReference, maySee, type Actor } from '../ownership';

type RepoDeps = Pick<Deps, 'ddb' | 'config'>;

/**
 * The feed's items are grouped by the 10-minute bucket of their write: the latest events are read
 * from the newest bucket back, and one bucket takes every notifier batch of those minutes (one
 * write per batch, not per event: a few writes a second per stream shard at most).
 */
export const FEED_BUCKET_MS = 10 * 60_000;
/** How long the feed keeps an entry (TTL; reads stop looking further back). */
export const FEED_RETENTION_MS = 60 * 60_000;

/** A feed entry as stored: the event in short, its claim id kept for the owner's eyes. */
export interface StoredFeedEvent extends Omit<FeedEvent, 'claimRef'> {
  claimId?: string;
}

const { partitionKey, sortKey } = resources.FEED_KEY;
const bucketOf = (ms: number) => `feed#${Math.floor(ms / FEED_BUCKET_MS)}`;

/** The entry of one notification (pure): who, what, and the state it moved from and to. */
export function toFeedEvent(event: NotificationEvent): StoredFeedEvent {
  const data = event.data as Record<string, unknown>;
  const server = (data.server ?? data.loadBalancer) as { status?: string; node?: string; region?: string; group?: string } | undefined;
  const optional = (name: keyof StoredFeedEvent, value: unknown) => (typeof value === 'string' ? { [name]: value } : {});
  return {
    id: event.id,
    type: event.type,
    time: event.time,
    endpoint: typeof data.endpoint === 'string' ? data.endpoint : event.subject,
    ...optional('status', server?.status),
    ...optional('previousStatus', data.previousStatus),
    ...optional('reason', data.reason ?? data.lost),
    ...optional('node', server?.node),
    ...optional('region', server?.region),
    ...optional('group', server?.group),
    ...optional('owner', data.owner),
    ...optional('claimId', data.claimId),
  };
}

/** A stored entry as `viewer` may see it: the claim's reference for all, its id for who may see it. */
export function feedEventFor(entry: StoredFeedEvent, viewer: Actor): FeedEvent {
  const { claimId, ...rest } = entry;
  if (claimId === undefined) return rest;
  return { ...rest, claimRef: claimReference(claimId), ...(maySee(viewer, entry.owner) ? { claimId } : {}) };
}

/**
 * Appends one published batch to the feed, in one write: the entries in publishing order, under
 * the write's time (and the batch's first id, so two batches of the same millisecond are two items).
 */
export async function appendToFeed(deps: RepoDeps, entries: readonly StoredFeedEvent[], now: number): Promise<void> {
  if (entries.length === 0) return;
  await deps.ddb.send(
    new PutCommand({
      TableName: deps.config.tables.eventFeed,
      Item: {
        [partitionKey]: bucketOf(now),
        [sortKey]: `${String(now).padStart(15, '0')}#${entries[0]!.id}`,
        writtenAt: now,
        events: entries,
        [resources.TTL_ATTRIBUTE]: Math.ceil((now + FEED_RETENTION_MS) / 1000),
      },
    }),
  );
}

/**
 * The latest `limit` entries, newest first: the newest bucket's items from the end back, then the
 * bucket before, until `limit` entries or the retention is reached. Items older than the
 * retention that TTL has not deleted yet (it takes its time) are skipped.
 */
export async function readRecentFeed(deps: RepoDeps, options: { limit: number; now: number }): Promise<StoredFeedEvent[]> {
  const found: StoredFeedEvent[] = [];
  const oldest = options.now - FEED_RETENTION_MS;
  for (let bucketStart = options.now; bucketStart > oldest - FEED_BUCKET_MS && found.length < options.limit; bucketStart -= FEED_BUCKET_MS) {
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await deps.ddb.send(
        new QueryCommand({
          TableName: deps.config.tables.eventFeed,
          KeyConditionExpression: '#bucket = :bucket',
          ExpressionAttributeNames: { '#bucket': partitionKey },
          ExpressionAttributeValues: { ':bucket': bucketOf(bucketStart) },
          ScanIndexForward: false,
          Limit: 25,
          ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (Number(item.writtenAt) < oldest) continue;
        found.push(...[...(item.events as StoredFeedEvent[])].reverse());
      }
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey && found.length < options.limit);
  }
  // Batches of different stream shards interleave: newest event time first, stable otherwise.
  return found.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, options.limit);
}
