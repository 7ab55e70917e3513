import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ROLES } from '../../infra/functions.cjs';

/** A caller role; the list lives in the route registry (infra/functions.cjs), which serverless.yml also reads. */
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export interface Caller {
  role: Role;
  /**
   * Who owns what this caller claims: `key:<name>` for an API key (every key of one name is the
   * same principal, so rotating a key keeps its claims), `iam:<partition>:<account>:<role|user>/<name>`
   * for an IAM principal (sessions of one role are the same principal). Stored on claims.
   */
  principal: string;
  /** For the audit trail: the key's name, or the IAM caller's ARN as API Gateway verified it. */
  name: string;
  /** Which key of the principal (first 8 hex chars of its SHA-256; IAM: none). Not a secret. */
  keyId?: string;
}

export interface KeyEntry {
  role: Role;
  /** The key holder's name: the principal its claims belong to. */
  name: string;
  digest: Buffer;
}

/** A key configuration or key document that cannot be used. Messages never contain key material. */
export class KeyringError extends Error {
  override name = 'KeyringError';
}

/** Keys of one name at a time: enough for a rotation (old + new) and spares. */
export const MAX_KEYS_PER_NAME = 5;
/** Keys of one role, all names together. */
export const MAX_KEYS_PER_ROLE = 50;
/** Keys are random and long, so an unsalted SHA-256 of them cannot be reversed by guessing. */
const DIGEST = /^[0-9a-f]{64}$/;
/** A key holder's name: shown in logs and owning claims, so plain and short. */
export const KeyNameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 lower-case letters, digits, dots, dashes or underscores');

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** The stored form of an API key: lower-case hex SHA-256 of its UTF-8 bytes. */
export function hashApiKey(key: string): string {
  return sha256(key).toString('hex');
}

/** A new API key: `gsk_` and 32 random bytes, base64url (256 bits of entropy). */
export function generateApiKey(): string {
  return `gsk_${randomBytes(32).toString('base64url')}`;
}

/** The principal that owns what a key holder claims. */
export const keyPrincipal = (name: string) => `key:${name}`;

/**
 * Rules every keyring keeps, whatever its source: a name belongs to one role (a key holder is one
 * principal), at most MAX_KEYS_PER_NAME keys per name (several = a rotation in progress).
 */
function checkKeyring(entries: KeyEntry[], source: string): KeyEntry[] {
  const roles = new Map<string, Role>();
  const counts = new Map<string, number>();
  for (const entry of entries) {
    const role = roles.get(entry.name);
    if (role !== undefined && role !== entry.role) throw new KeyringError(`${source}: key name ${entry.name} is used for two roles (${role}, ${entry.role})`);
    roles.set(entry.name, entry.role);
    const count = (counts.get(entry.name) ?? 0) + 1;
    if (count > MAX_KEYS_PER_NAME) throw new KeyringError(`${source}: at most ${MAX_KEYS_PER_NAME} keys per name (${entry.name})`);
    counts.set(entry.name, count);
  }
  return entries;
}

// ---------- local: API_KEYS=name:role:key,... ----------

/**
 * Parses `name:role:key` entries, comma-separated; the older `role:key` form names the key holder
 * after its role. Several keys of one name are a rotation in progress. Only SHA-256 digests are
 * kept in memory.
 */
export function parseKeyring(spec: string | undefined): KeyEntry[] {
  if (!spec) return [];
  const entries = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry): KeyEntry => {
      const parts = entry.split(':');
      // A key may itself contain ':'; the role is whichever of the first two parts is a role.
      const named = parts.length >= 3 && RoleSchema.safeParse(parts[1]).success;
      const [nameText, roleText, key] = named ? [parts[0]!, parts[1]!, parts.slice(2).join(':')] : [parts[0]!, parts[0]!, parts.slice(1).join(':')];
      const role = RoleSchema.safeParse(roleText);
      if (parts.length < 2 || !role.success) {
        throw new KeyringError(`API_KEYS: unknown role in an entry (expected <name>:<${RoleSchema.options.join('|')}>:<key> or <role>:<key>)`);
      }
      const name = KeyNameSchema.safeParse(nameText);
      if (!name.success) throw new KeyringError(`API_KEYS: key names ${name.error.issues[0]!.message}`);
      if (key.length < 8) throw new KeyringError(`API_KEYS: keys must be at least 8 characters (key name ${name.data})`);
      return { role: role.data, name: name.data, digest: sha256(key) };
    });
  return checkKeyring(entries, 'API_KEYS');
}

// ---------- AWS: the key document (stored in SSM, read by ./keyring) ----------

/** A named key in the document; a bare digest string is a key named after its role. */
export interface NamedDigest {
  name: string;
  digest: string;
}
export type DocumentKey = string | NamedDigest;

/**
 * The value of the SSM SecureString parameter (`/<service>/<stage>/api-keys`): for each role, its
 * valid keys as SHA-256 digests (hex), each named by its holder; a bare digest is named after the
 * role (the first version of the document). Several keys of one name = a rotation in progress.
 *
 *     { "matchmaker": [{ "name": "mm-eu", "digest": "9f86d0..." }], "load-balancer": [{ "name": "lb-pool-a", "digest": "..." }], "reader": ["60303a..."] }
 */
export type KeyDocument = Partial<Record<Role, DocumentKey[]>>;

const DigestSchema = z.string().regex(DIGEST, 'must be a lower-case hex SHA-256 digest');
const DocumentKeyListSchema = z
  .array(z.union([DigestSchema, z.strictObject({ name: KeyNameSchema, digest: DigestSchema })]))
  .max(MAX_KEYS_PER_ROLE, `at most ${MAX_KEYS_PER_ROLE} keys per role`);

export const KeyDocumentSchema = z.strictObject(
  Object.fromEntries(RoleSchema.options.map((role) => [role, DocumentKeyListSchema.optional()])) as Record<Role, z.ZodOptional<typeof DocumentKeyListSchema>>,
);

const digestOf = (key: DocumentKey) => (typeof key === 'string' ? key : key.digest);
const nameOf = (key: DocumentKey, role: Role) => (typeof key === 'string' ? role : key.name);

/** Parses and checks a key document. Throws KeyringError (naming the problem, never the content). */
export function parseKeyDocument(text: string): KeyDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeyringError('api key document: not valid JSON');
  }
  const parsed = KeyDocumentSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => (issue.code === 'unrecognized_keys' ? `unknown role(s) ${issue.keys.join(', ')}` : `${issue.path.join('.') || 'document'}: ${issue.message}`))
      .join('; ');
    throw new KeyringError(`api key document: ${problems}`);
  }
  const document = parsed.data as KeyDocument;
  const seen = new Set<string>();
  for (const keys of Object.values(document)) {
    for (const key of keys ?? []) {
      if (seen.has(digestOf(key))) throw new KeyringError('api key document: a digest appears twice');
      seen.add(digestOf(key));
    }
  }
  keyringFromDocument(document); // the naming rules (checkKeyring)
  return document;
}

export function keyringFromDocument(document: KeyDocument): KeyEntry[] {
  const entries = RoleSchema.options.flatMap((role) =>
    (document[role] ?? []).map((key) => ({ role, name: nameOf(key, role), digest: Buffer.from(digestOf(key), 'hex') })),
  );
  return checkKeyring(entries, 'api key document');
}

/** The document as stored: roles in a fixed order, one line. */
export function formatKeyDocument(document: KeyDocument): string {
  const ordered: KeyDocument = {};
  for (const role of RoleSchema.options) if (document[role]?.length) ordered[role] = [...document[role]!];
  return JSON.stringify(ordered);
}

/**
 * Adds a key to a role under a name (the first step of a rotation when the name has keys).
 * Without a name the key is named after its role. Throws KeyringError if present, or if the name
 * belongs to another role or is full.
 */
export function addKeyDigest(document: KeyDocument, role: Role, digest: string, name?: string): KeyDocument {
  if (!DIGEST.test(digest)) throw new KeyringError('not a lower-case hex SHA-256 digest');
  if (name !== undefined && !KeyNameSchema.safeParse(name).success) throw new KeyringError(`key name ${KeyNameSchema.safeParse(name).error!.issues[0]!.message}`);
  if (Object.values(document).some((keys) => keys?.some((key) => digestOf(key) === digest))) throw new KeyringError('that key is already in the document');
  const added: DocumentKey = name === undefined || name === role ? digest : { name, digest };
  const next = { ...document, [role]: [...(document[role] ?? []), added] };
  if (next[role]!.length > MAX_KEYS_PER_ROLE) throw new KeyringError(`role ${role} already has ${MAX_KEYS_PER_ROLE} keys: revoke one first`);
  try {
    keyringFromDocument(next);
  } catch (error) {
    throw new KeyringError(`${(error as Error).message.replace('api key document: ', '')}${/at most/.test((error as Error).message) ? ': revoke one first' : ''}`);
  }
  return next;
}

/** Removes a digest, whichever role has it (the last step of a rotation, or a revocation). */
export function removeKeyDigest(document: KeyDocument, digest: string): KeyDocument {
  const result: KeyDocument = {};
  let found = false;
  for (const role of RoleSchema.options) {
    const keys = document[role];
    if (!keys) continue;
    found ||= keys.some((key) => digestOf(key) === digest);
    result[role] = keys.filter((key) => digestOf(key) !== digest);
  }
  if (!found) throw new KeyringError('that digest is not in the document');
  return result;
}

/** Names and roles in a document, with how many keys each name has (for `npm run keys -- check`). */
export function describeKeyDocument(document: KeyDocument): Array<{ role: Role; name: string; keys: number }> {
  const rows: Array<{ role: Role; name: string; keys: number }> = [];
  for (const entry of keyringFromDocument(document)) {
    const row = rows.find((r) => r.name === entry.name);
    if (row) row.keys++;
    else rows.push({ role: entry.role, name: entry.name, keys: 1 });
  }
  return rows;
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
  return match ? { role: match.role, principal: keyPrincipal(match.name), name: match.name, keyId: digest.subarray(0, 4).toString('hex') } : undefined;
}
