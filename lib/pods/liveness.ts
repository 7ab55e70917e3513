import { NEVER } from '../../schemas/items';

export interface LivenessSettings {
  heartbeatTimeoutMs: number;
  /** How long a terminated record (tombstone) or a silent pod's record is kept before TTL. */
  retentionMs: number;
}

/** Legacy pods never heartbeat: their liveness is their `init` until `terminating`. */
export function freshUntil(source: 'v1' | 'legacy', heartbeatAt: number, settings: LivenessSettings): number {
  return source === 'legacy' ? NEVER : heartbeatAt + settings.heartbeatTimeoutMs;
}

/** DynamoDB TTL (epoch seconds): garbage collection only, never relied on for correctness. */
export function ttlSeconds(from: number, settings: LivenessSettings): number {
  return Math.ceil((from + settings.retentionMs) / 1000);
}

/**
 * TTL of a live pod's record: its last heartbeat plus the retention, so that records of pods
 * that vanished without a word are collected. Legacy pods never heartbeat: their records are
 * kept until they terminate.
 */
export function liveRecordTtl(source: 'v1' | 'legacy', heartbeatAt: number, settings: LivenessSettings): { expiresAt?: number } {
  return source === 'legacy' ? {} : { expiresAt: ttlSeconds(heartbeatAt, settings) };
}
