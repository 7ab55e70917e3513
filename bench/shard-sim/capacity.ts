// Item size, from a record built the way the poller builds one (v1 message -> normalize -> decide),
// with the claim fields a claimed record carries, and the DynamoDB capacity units that follows.
import { normalizeStatusMessage } from '../../lib/messages/normalize';
import { decideGameServerWrite } from '../../lib/game-servers/lifecycle';
import { v1Message } from '../../testkit/v1-message';
import { MAX_AVAILABILITY_SHARDS, PRODUCTION_DEFAULTS } from './model';

/** DynamoDB partition limits, per second. */
export const PARTITION_WCU = 1000;
export const PARTITION_RCU = 3000;

// DynamoDB sizing: attribute name + value bytes; numbers ~ 1 byte per 2 significant digits + 1;
// maps/lists 3 bytes + 1 per element.
function attributeSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(Math.abs(value)).replace(/[.-]/g, '').replace(/^0+/, '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + attributeSize(v), 0);
  if (typeof value === 'object') return 3 + Object.entries(value as object).reduce((n, [k, v]) => n + 1 + Buffer.byteLength(k) + attributeSize(v), 0);
  return 0;
}
function itemSize(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + attributeSize(v), 0);
}
function sampleItemBytes(): number {
  const now = Date.now();
  const normalized = normalizeStatusMessage({ body: JSON.stringify(v1Message({ sentAt: new Date(now).toISOString() })), sentTimestamp: now });
  if (!normalized.ok || normalized.event.kind !== 'game-server') throw new Error('sample event did not normalize');
  const { heartbeatTimeoutMs, retentionMs, defaultLeaseSeconds } = PRODUCTION_DEFAULTS;
  const decision = decideGameServerWrite(undefined, normalized.event, now, { heartbeatTimeoutMs, retentionMs, availabilityShards: MAX_AVAILABILITY_SHARDS });
  if (decision.kind !== 'write') throw new Error('sample event was not written');
  return itemSize({ ...decision.item, status: 'claimed', claimId: '6f1c2b1e-0000-4000-8000-000000000001', claimAttempt: '0b7e3c52-0000-4000-8000-000000000002', claimedAt: now, leaseExpiresAt: now + defaultLeaseSeconds * 1000 });
}
export const ITEM_BYTES = sampleItemBytes();
/** A GSI entry: the projected item (ALL) plus ~100 bytes of index overhead. */
export const INDEX_ENTRY_BYTES = ITEM_BYTES + 100;
export const WCU_PER_INDEX_WRITE = Math.ceil(INDEX_ENTRY_BYTES / 1024);
export const WCU_PER_ITEM_WRITE = Math.ceil(ITEM_BYTES / 1024);
/** A claim: claim record PutItem + server UpdateItem (standard writes) + 3 availability GSIs x 2 (availableAt moves). */
export const CLAIM_WRU = 2 * WCU_PER_ITEM_WRITE + 3 * 2 * WCU_PER_INDEX_WRITE;
/** A lost race: the failed conditional update (still billed), the claim record put, its withdrawal. */
export const LOST_RACE_WRU = 3 * WCU_PER_ITEM_WRITE;
export const rruForQuery = (items: number) => Math.ceil((items * INDEX_ENTRY_BYTES) / 4096) * 0.5;
