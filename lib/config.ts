import type { DurationDefaults } from '../schemas/http';
import { z } from 'zod';
import resources from '../infra/resources.cjs';

const seconds = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

const EnvSchema = z.object({
  STAGE: z.string().regex(/^[a-z0-9-]{1,40}$/).default('local'),
  AWS_REGION: z.string().default('us-east-1'),
  GAME_SERVER_TABLE: z.string().optional(),
  LB_TABLE: z.string().optional(),
  CLAIM_TABLE: z.string().optional(),
  NODE_TABLE: z.string().optional(),
  EVENT_FEED_TABLE: z.string().optional(),
  /** Local development: DynamoDB Local / local SQS endpoints instead of AWS. */
  DYNAMODB_ENDPOINT: z.url().optional(),
  SQS_ENDPOINT: z.url().optional(),
  HEARTBEAT_TIMEOUT_SECONDS: seconds(30, 86_400),
  DEFAULT_LEASE_SECONDS: seconds(60, 3600),
  MAX_LEASE_SECONDS: seconds(3600, 3600),
  /** How long a confirmed claim (or set-gs-busy) holds its servers unless renewed. */
  DEFAULT_HOLD_SECONDS: seconds(86_400, 30 * 86_400),
  MAX_HOLD_SECONDS: seconds(7 * 86_400, 30 * 86_400),
  /**
   * DynamoDB client: TCP connect timeout, per-request timeout (each attempt), and attempts per
   * call (the SDK's standard retry mode, exponential backoff with jitter). Defaults keep the
   * worst case (3 x 1 s + backoff) well inside the API functions' 6 s timeout.
   */
  DYNAMODB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(500),
  DYNAMODB_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  DYNAMODB_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  RECORD_RETENTION_SECONDS: seconds(86_400, 90 * 86_400),
  AVAILABILITY_SHARDS: z.coerce.number().int().min(1).max(64).default(1),
  /** How long a claimer reuses a listing of candidates before it queries again. */
  CANDIDATE_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** How far a v1 event's `sentAt` (the sender's clock) may lie ahead of the queue's SentTimestamp; later ones are clamped to it. */
  EVENT_MAX_CLOCK_SKEW_MS: z.coerce.number().int().min(0).max(600_000).default(5000),
  /** Local development and tests: `name:role:key,...` (or `role:key,...`) in plain text. Never set on AWS (see SECURITY.md). */
  API_KEYS: z.string().optional(),
  /** On AWS: the SSM SecureString parameter holding the key digests, `{ "<role>": [{ "name": "<key name>", "digest": "<sha256 hex>" }, ...] }`. */
  API_KEYS_PARAMETER: z
    .string()
    .regex(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, 'must be an SSM parameter name such as /gs-inventory/prod/api-keys')
    .optional(),
  /** How long a function instance reuses the key digests it read before it reads them again. */
  API_KEYS_CACHE_SECONDS: seconds(300, 3600),
  /** `api-key`: Bearer keys checked by the functions. `iam`: API Gateway checks SigV4, IAM_PRINCIPALS maps callers to roles. */
  AUTH_MODE: z.enum(['api-key', 'iam']).default('api-key'),
  /** AUTH_MODE=iam: JSON `{ "<IAM role or user ARN>": "<role>" }`. */
  IAM_PRINCIPALS: z.string().optional(),
  /** Tests: an SSM-compatible endpoint instead of AWS. */
  SSM_ENDPOINT: z.url().optional(),
  /** The notifier on AWS: the stage's EventBridge bus (set by the stack). */
  EVENT_BUS_NAME: z.string().min(1).max(256).optional(),
});

export interface Config {
  stage: string;
  awsRegion: string;
  tables: { gameServers: string; loadBalancers: string; claims: string; nodes: string; eventFeed: string };
  endpoints: { dynamodb?: string; sqs?: string; ssm?: string };
  heartbeatTimeoutMs: number;
  defaultLeaseSeconds: number;
  maxLeaseSeconds: number;
  defaultHoldSeconds: number;
  maxHoldSeconds: number;
  dynamodbClient: { connectTimeoutMs: number; requestTimeoutMs: number; maxAttempts: number };
  retentionMs: number;
  availabilityShards: number;
  candidateCacheMs: number;
  /** Upper bound of a v1 event's `sentAt` above the queue's SentTimestamp (lib/messages/normalize.ts clampSentAt). */
  maxClockSkewMs: number;
  apiKeys?: string;
  auth: {
    mode: 'api-key' | 'iam';
    /** SSM parameter with the key digests (AWS); when absent, `apiKeys` (local). */
    apiKeysParameter?: string;
    apiKeysCacheMs: number;
    iamPrincipals?: string;
  };
  notifications: {
    /** CloudEvents `source` of every event: `/gs-inventory/<stage>`. */
    source: string;
    /** AWS: the EventBridge bus the notifier publishes to. */
    eventBusName?: string;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the environment once (cold start). Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  if (e.API_KEYS && e.API_KEYS_PARAMETER) {
    throw new ConfigError('invalid configuration: set API_KEYS (local) or API_KEYS_PARAMETER (AWS), not both');
  }
  const names = resources.physicalNames(e.STAGE);
  return {
    stage: e.STAGE,
    awsRegion: e.AWS_REGION,
    tables: {
      gameServers: e.GAME_SERVER_TABLE ?? names.gameServerTable,
      loadBalancers: e.LB_TABLE ?? names.loadBalancerTable,
      claims: e.CLAIM_TABLE ?? names.claimTable,
      nodes: e.NODE_TABLE ?? names.nodeTable,
      eventFeed: e.EVENT_FEED_TABLE ?? names.eventFeedTable,
    },
    endpoints: {
      ...(e.DYNAMODB_ENDPOINT ? { dynamodb: e.DYNAMODB_ENDPOINT } : {}),
      ...(e.SQS_ENDPOINT ? { sqs: e.SQS_ENDPOINT } : {}),
      ...(e.SSM_ENDPOINT ? { ssm: e.SSM_ENDPOINT } : {}),
    },
    heartbeatTimeoutMs: e.HEARTBEAT_TIMEOUT_SECONDS * 1000,
    defaultLeaseSeconds: Math.min(e.DEFAULT_LEASE_SECONDS, e.MAX_LEASE_SECONDS),
    maxLeaseSeconds: e.MAX_LEASE_SECONDS,
    defaultHoldSeconds: Math.min(e.DEFAULT_HOLD_SECONDS, e.MAX_HOLD_SECONDS),
    maxHoldSeconds: e.MAX_HOLD_SECONDS,
    dynamodbClient: {
      connectTimeoutMs: e.DYNAMODB_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: e.DYNAMODB_REQUEST_TIMEOUT_MS,
      maxAttempts: e.DYNAMODB_MAX_ATTEMPTS,
    },
    retentionMs: e.RECORD_RETENTION_SECONDS * 1000,
    availabilityShards: e.AVAILABILITY_SHARDS,
    candidateCacheMs: e.CANDIDATE_CACHE_MS,
    maxClockSkewMs: e.EVENT_MAX_CLOCK_SKEW_MS,
    ...(e.API_KEYS ? { apiKeys: e.API_KEYS } : {}),
    auth: {
      mode: e.AUTH_MODE,
      ...(e.API_KEYS_PARAMETER ? { apiKeysParameter: e.API_KEYS_PARAMETER } : {}),
      apiKeysCacheMs: e.API_KEYS_CACHE_SECONDS * 1000,
      ...(e.IAM_PRINCIPALS ? { iamPrincipals: e.IAM_PRINCIPALS } : {}),
    },
    notifications: {
      source: `/gs-inventory/${e.STAGE}`,
      ...(e.EVENT_BUS_NAME ? { eventBusName: e.EVENT_BUS_NAME } : {}),
    },
  };
}

/** The lease and hold a request gets when it names none (the request schemas apply them). */
export function durationDefaults(config: Pick<Config, 'defaultLeaseSeconds' | 'defaultHoldSeconds'>): DurationDefaults {
  return { leaseSeconds: config.defaultLeaseSeconds, holdSeconds: config.defaultHoldSeconds };
}
