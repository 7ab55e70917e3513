/** Claim records outlive the end of their claim (deadline or release) by this much before TTL removes them. */
export const CLAIM_RECORD_RETENTION_MS = 7 * 86_400_000;

/**
 * TTL (epoch seconds) of a claim record whose claim holds its servers until `until` (a lease or
 * hold end, or the release time). Servers become claimable at their deadline, before the record
 * can go: a claim whose record is gone never pins a server.
 */
export function claimRecordTtl(until: number): number {
  return Math.ceil((until + CLAIM_RECORD_RETENTION_MS) / 1000);
}
