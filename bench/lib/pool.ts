import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../lib/config';
import type { GameServerLifecycleEvent } from '../../lib/pods/events';
import { decideGameServerWrite, lifecycleSettings } from '../../lib/game-servers/lifecycle';
import type { GameServerItem } from '../../schemas/items';
import { backoffDelay, sleep } from '../../lib/backoff';

export const BENCH_REGION = 'us-west';

let endpointCounter = 0;

/** A fresh, unique `10.a.b.c:7777` endpoint (unique for the whole bench process). */
export function nextEndpoint(): string {
  const n = ++endpointCounter;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:7777`;
}

export interface PoolSpec {
  group: string;
  count: number;
  /** Servers per node (pairs need distinct nodes). Default 1. */
  perNode?: number;
  /** The lifecycle event each server's record is decided from. Default `ready`. */
  eventFor?: (index: number) => { event: GameServerLifecycleEvent['event']; sentAt?: number };
}

/** The `ready` event a pod of the pool sends (the normalized form the poller decides on). */
export function readyEvent(endpoint: string, group: string, node: string, sentAt: number): GameServerLifecycleEvent {
  return { kind: 'game-server', event: 'ready', endpoint, region: BENCH_REGION, group, node, podUid: `pod-${endpoint}`, seq: 1, sentAt, source: 'v1' };
}

/**
 * The records the status poller would write for these servers' first events: built by the
 * poller's own pure decision (decideGameServerWrite, as on a first event for an endpoint), then
 * written with BatchWriteItem, 25 per request. Used to load big pools in seconds; the ingestion
 * path itself (read, decide, conditional put per event) is measured by the ingestion scenario.
 */
export async function registerPool(admin: DynamoDBDocumentClient, config: Config, spec: PoolSpec): Promise<GameServerItem[]> {
  const now = Date.now();
  const settings = lifecycleSettings(config);
  const perNode = spec.perNode ?? 1;
  const nodeTag = `${spec.group}-${Math.random().toString(36).slice(2, 8)}`;
  const items: GameServerItem[] = [];
  for (let i = 0; i < spec.count; i++) {
    const endpoint = nextEndpoint();
    const shape = spec.eventFor?.(i) ?? { event: 'ready' as const };
    const event = { ...readyEvent(endpoint, spec.group, `node-${nodeTag}-${Math.floor(i / perNode)}`, shape.sentAt ?? now), event: shape.event };
    const decision = decideGameServerWrite(undefined, event, now, settings);
    if (decision.kind !== 'write') throw new Error(`a first ${event.event} event for ${endpoint} was not written`);
    items.push(decision.item);
  }
  await batchPut(admin, config.tables.gameServers, items);
  return items;
}

/** BatchWriteItem in chunks of 25, several in flight, retrying unprocessed items. */
export async function batchPut(admin: DynamoDBDocumentClient, table: string, items: Array<Record<string, unknown>>, inFlight = 8): Promise<void> {
  const chunks: Array<Array<Record<string, unknown>>> = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      let requests: Array<{ PutRequest: { Item: Record<string, unknown> } }> | undefined = chunks[next++]!.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests && requests.length > 0; attempt++) {
        if (attempt > 0) await sleep(backoffDelay(attempt + 1, { baseMs: 20, maxMs: 1000, jitter: 'none' }));
        const result = await admin.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = result.UnprocessedItems?.[table] as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}
