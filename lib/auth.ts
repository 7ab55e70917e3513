import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import type { Config } from './config';

export const RoleSchema = z.enum(['matchmaker', 'load-balancer', 'reader', 'admin']);
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

// ---------- AWS: the key document in SSM ----------

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

/** The key digests could not be read and no earlier copy is at hand. */
export class KeyringUnavailableError extends Error {
  override name = 'KeyringUnavailableError';
}

export interface KeyringCacheOptions {
  /** Reads the key document (the SSM parameter's decrypted value). */
  read: () => Promise<string>;
  clock: () => number;
  /** A document is used for this long, then read again: how long a rotation takes to reach every instance. */
  cacheMs: number;
  /** After a failed read, the next attempt waits this long (requests in between do not hammer SSM). */
  retryMs?: number;
  onError?: (error: unknown, outcome: 'kept-previous' | 'refused') => void;
}

/**
 * The keyring of a function instance on AWS: read on the first request (cold start), reused for
 * `cacheMs`, then read again, one read at a time however many requests wait.
 *
 * Failure rules: when the read fails (SSM throttled or unreachable) the previous keyring stays in
 * use, so an SSM outage does not lock callers out; when the document itself is invalid (or not a
 * SecureString) nobody is let in until it is fixed: an edit meant to revoke a key never leaves
 * the old keys valid by accident. Throws KeyringUnavailableError while there is no keyring.
 */
export function cachedKeyring(options: KeyringCacheOptions): () => Promise<KeyEntry[]> {
  const retryMs = options.retryMs ?? 5000;
  let current: { keyring: KeyEntry[]; readAt: number } | undefined;
  let failedAt: number | undefined;
  let reading: Promise<void> | undefined;

  const refresh = async () => {
    try {
      const keyring = keyringFromDocument(parseKeyDocument(await options.read()));
      current = { keyring, readAt: options.clock() };
      failedAt = undefined;
    } catch (error) {
      failedAt = options.clock();
      const invalid = error instanceof KeyringError;
      if (invalid) current = undefined;
      options.onError?.(error, current ? 'kept-previous' : 'refused');
    }
  };

  return async () => {
    const now = options.clock();
    const fresh = current !== undefined && now - current.readAt < options.cacheMs;
    const backingOff = failedAt !== undefined && now - failedAt < retryMs;
    if (!fresh && !backingOff) {
      reading ??= refresh().finally(() => {
        reading = undefined;
      });
      await reading;
    }
    if (!current) throw new KeyringUnavailableError('API keys are not available');
    return current.keyring;
  };
}

/** Dummy credentials for an SSM-compatible local endpoint (tests). */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Reads the key document from SSM Parameter Store (decrypted). Refuses anything but a
 * SecureString, so the digests never sit in a plain parameter. The client is built on first use.
 */
export function ssmParameterReader(config: Pick<Config, 'awsRegion' | 'endpoints'>, name: string): () => Promise<string> {
  let client: SSMClient | undefined;
  return async () => {
    const local = config.endpoints.ssm;
    client ??= new SSMClient({ region: config.awsRegion, maxAttempts: 3, ...(local ? { endpoint: local, credentials: LOCAL_CREDENTIALS } : {}) });
    const { Parameter: parameter } = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    if (parameter?.Type !== 'SecureString') throw new KeyringError(`api key parameter ${name} is not a SecureString`);
    return parameter.Value ?? '';
  };
}

// ---------- AWS: IAM (SigV4) callers ----------

const PARTITION = 'aws[a-z-]*';
const ACCOUNT = '\\d{12}';
const NAME = '[\\w+=,.@-]{1,64}';
const PATH = '(?:/[\\x21-\\x7e]*)?/';
const IAM_ROLE_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):role${PATH}(${NAME})$`);
const IAM_USER_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):user${PATH}(${NAME})$`);
const ASSUMED_ROLE_ARN = new RegExp(`^arn:(${PARTITION}):sts::(${ACCOUNT}):assumed-role/(${NAME})/[\\w+=,.@-]{1,64}$`);

/**
 * `role|<partition>|<account>|<name>` for an IAM role ARN or an STS assumed-role ARN (what a pod
 * using IRSA calls with; the assumed-role ARN drops the role's path, so paths are ignored), and
 * `user|...` for an IAM user. Anything else (root, federated users, wildcards) has no key.
 */
export function iamPrincipalKey(arn: string): string | undefined {
  const role = IAM_ROLE_ARN.exec(arn) ?? ASSUMED_ROLE_ARN.exec(arn);
  if (role) return `role|${role[1]}|${role[2]}|${role[3]}`;
  const user = IAM_USER_ARN.exec(arn);
  return user ? `user|${user[1]}|${user[2]}|${user[3]}` : undefined;
}

/** The principal of an IAM caller (see iamPrincipalKey): `iam:<partition>:<account>:<role|user>/<name>`. */
function iamPrincipalId(key: string): string {
  const [kind, partition, account, name] = key.split('|');
  return `iam:${partition}:${account}:${kind}/${name}`;
}

/**
 * Parses IAM_PRINCIPALS: JSON `{ "<IAM role or user ARN>": "<role>" }`. Only exact role and user
 * ARNs are accepted (no wildcards, no assumed-role session ARNs). Throws KeyringError.
 */
export function parseIamPrincipals(spec: string | undefined): Map<string, Role> {
  const principals = new Map<string, Role>();
  if (!spec) return principals;
  let json: unknown;
  try {
    json = JSON.parse(spec);
  } catch {
    throw new KeyringError('IAM_PRINCIPALS: not valid JSON');
  }
  const parsed = z.record(z.string(), RoleSchema).safeParse(json);
  if (!parsed.success) throw new KeyringError(`IAM_PRINCIPALS: expected {"<role or user ARN>": "${RoleSchema.options.join('|')}"}`);
  for (const [arn, role] of Object.entries(parsed.data)) {
    const key = IAM_ROLE_ARN.test(arn) || IAM_USER_ARN.test(arn) ? iamPrincipalKey(arn) : undefined;
    if (!key) throw new KeyringError(`IAM_PRINCIPALS: ${arn} is not an IAM role or user ARN`);
    if (principals.has(key)) throw new KeyringError(`IAM_PRINCIPALS: ${arn} is listed twice`);
    principals.set(key, role);
  }
  return principals;
}

// ---------- the authenticator the HTTP stack uses ----------

export interface Credentials {
  /** The Bearer token of the Authorization header. */
  bearer?: string;
  /** `requestContext.authorizer.iam.userArn`, set by API Gateway after it verified a SigV4 signature. */
  iamArn?: string;
}

export type AuthOutcome =
  | { kind: 'authenticated'; caller: Caller }
  /** No credentials, or credentials nobody issued. */
  | { kind: 'unauthenticated' }
  /** A verified IAM principal that has no role here. */
  | { kind: 'no-role' }
  /** The keys could not be read: the caller may be fine, we cannot tell. */
  | { kind: 'unavailable' };

export interface Authenticator {
  mode: Config['auth']['mode'];
  authenticate(credentials: Credentials): Promise<AuthOutcome>;
}

/**
 * Builds the authenticator of a function instance from its configuration:
 * - `iam`: API Gateway has verified the SigV4 signature; the principal's ARN is mapped to a role.
 * - `api-key` with `apiKeysParameter` (AWS): key digests from SSM, cached (cachedKeyring).
 * - `api-key` with `apiKeys` (local): `name:role:key,...` from the environment.
 * Throws KeyringError at construction for unusable static configuration (a cold-start failure).
 */
export function createAuthenticator(
  config: Pick<Config, 'auth' | 'apiKeys' | 'awsRegion' | 'endpoints'>,
  options: { clock: () => number; onKeyringError?: KeyringCacheOptions['onError'] },
): Authenticator {
  if (config.auth.mode === 'iam') {
    const principals = parseIamPrincipals(config.auth.iamPrincipals);
    return {
      mode: 'iam',
      authenticate: async ({ iamArn }) => {
        if (!iamArn) return { kind: 'unauthenticated' };
        const key = iamPrincipalKey(iamArn);
        const role = key ? principals.get(key) : undefined;
        if (!key || !role) return { kind: 'no-role' };
        return { kind: 'authenticated', caller: { role, principal: iamPrincipalId(key), name: iamArn } };
      },
    };
  }
  const parameter = config.auth.apiKeysParameter;
  let keyring: () => Promise<KeyEntry[]>;
  if (parameter) {
    keyring = cachedKeyring({
      read: ssmParameterReader(config, parameter),
      clock: options.clock,
      cacheMs: config.auth.apiKeysCacheMs,
      ...(options.onKeyringError ? { onError: options.onKeyringError } : {}),
    });
  } else {
    const local = parseKeyring(config.apiKeys);
    keyring = async () => local;
  }
  return {
    mode: 'api-key',
    authenticate: async ({ bearer }) => {
      if (!bearer) return { kind: 'unauthenticated' };
      let entries: KeyEntry[];
      try {
        entries = await keyring();
      } catch (error) {
        if (error instanceof KeyringUnavailableError) return { kind: 'unavailable' };
        throw error;
      }
      const caller = authenticate(entries, bearer);
      return caller ? { kind: 'authenticated', caller } : { kind: 'unauthenticated' };
    },
  };
}
