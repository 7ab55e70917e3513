import type { z } from 'zod';
import { GameServerItemSchema, LoadBalancerItemSchema } from '../../schemas/items';
import type { NotificationEvent } from '../../schemas/events';
import { gameServerEvents, loadBalancerEvents, toCloudEvent } from './derive';
import type { EventPublisher } from './publisher';

/** One stream record, unmarshalled: which table, its position in the shard, both images. */
export interface StreamChange {
  /** The record's SequenceNumber: what a partial batch response names. */
  sequenceNumber: string;
  table: 'gs' | 'lb';
  old?: Record<string, unknown>;
  new?: Record<string, unknown>;
}

export interface NotifyResult {
  /** Records fully handled (their events, if any, published). */
  handled: number;
  /** The events published, in order (the recent-events feed records them). */
  events: NotificationEvent[];
  /**
   * The first record that failed: it and every later one are to be delivered again, in order.
   * `permanent`: its image is not a record of ours, and no retry will change that.
   */
  failed?: { sequenceNumber: string; error: unknown; permanent: boolean };
}

/** The events one stream record means, as CloudEvents (pure). Throws on an image that is not a record of ours. */
export function eventsOfChange(change: StreamChange, source: string): NotificationEvent[] {
  if (change.table === 'gs') {
    const old = change.old ? parseImage(GameServerItemSchema, change.old, 'game-server') : undefined;
    const current = change.new ? parseImage(GameServerItemSchema, change.new, 'game-server') : undefined;
    return current ? gameServerEvents({ ...(old ? { old } : {}), new: current }).map((draft) => toCloudEvent('gs', current, draft, source)) : [];
  }
  const old = change.old ? parseImage(LoadBalancerItemSchema, change.old, 'load-balancer') : undefined;
  const current = change.new ? parseImage(LoadBalancerItemSchema, change.new, 'load-balancer') : undefined;
  return current ? loadBalancerEvents({ ...(old ? { old } : {}), new: current }).map((draft) => toCloudEvent('lb', current, draft, source)) : [];
}

export class UnreadableImageError extends Error {
  override name = 'UnreadableImageError';
}

/** A stream image as a record of ours; one line naming what is wrong otherwise (it is logged). */
function parseImage<T>(schema: z.ZodType<T>, image: Record<string, unknown>, kind: string): T {
  const parsed = schema.safeParse(image);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`);
  throw new UnreadableImageError(`not a ${kind} record (${String(image.endpoint)}): ${problems.join('; ')}${parsed.error.issues.length > 5 ? '; ...' : ''}`);
}

/**
 * Publishes the events of a batch of stream records, record by record in stream order, and stops
 * at the first record that fails (its image does not parse, or the publisher refused): the stream
 * delivers that record and all after it again (a partial batch response), so no server's events
 * are ever published out of order, and a redelivered record yields the same events with the same
 * ids. A record that keeps failing ends in the event source's on-failure destination.
 */
export async function notifyChanges(publisher: EventPublisher, changes: readonly StreamChange[], source: string): Promise<NotifyResult> {
  const result: NotifyResult = { handled: 0, events: [] };
  for (const change of changes) {
    try {
      const events = eventsOfChange(change, source);
      if (events.length > 0) await publisher.publish(events);
      result.events.push(...events);
      result.handled++;
    } catch (error) {
      result.failed = { sequenceNumber: change.sequenceNumber, error, permanent: error instanceof UnreadableImageError };
      return result;
    }
  }
  return result;
}
