import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const RoleSchema = z.enum(['matchmaker', 'load-balancer', 'reader']);
export type Role = z.infer<typeof RoleSchema>;

export interface Caller {
  role: Role;
  /** A short, non-secret fingerprint of the key (first 8 hex chars of its SHA-256), for logs. */
  keyId: string;
}

interface KeyEntry {
  role: Role;
  digest: Buffer;
}

export class KeyringError extends Error {
  override name = 'KeyringError';
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Parses `role:key,role:key` (several keys per role are allowed, which is how keys rotate).
 * Only SHA-256 digests are kept in memory.
 */
export function parseKeyring(spec: string | undefined): KeyEntry[] {
  if (!spec) return [];
  return spec
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const separator = pair.indexOf(':');
      const role = RoleSchema.safeParse(pair.slice(0, separator));
      const key = pair.slice(separator + 1);
      if (separator <= 0 || !role.success) throw new KeyringError(`API_KEYS: unknown role in an entry (expected ${RoleSchema.options.join('|')}:<key>)`);
      if (key.length < 8) throw new KeyringError(`API_KEYS: keys must be at least 8 characters (role ${role.data})`);
      return { role: role.data, digest: sha256(key) };
    });
}

/**
 * Finds the caller for a presented key. Every configured key is compared (constant time on
 * fixed-length digests), so the time taken does not reveal which key or how much of it matched.
 */
export function authenticate(keyring: KeyEntry[], presented: string): Caller | undefined {
  const digest = sha256(presented);
  let match: KeyEntry | undefined;
  for (const entry of keyring) {
    if (timingSafeEqual(entry.digest, digest) && !match) match = entry;
  }
  return match ? { role: match.role, keyId: digest.subarray(0, 4).toString('hex') } : undefined;
}
