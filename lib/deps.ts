import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfig, type Config } from './config';
import { LOCAL_CREDENTIALS } from './local-credentials';

export type Clock = () => number;

export interface Deps {
  config: Config;
  ddb: DynamoDBDocumentClient;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

const DEFAULT_CLIENT_SETTINGS: Config['dynamodbClient'] = { connectTimeoutMs: 500, requestTimeoutMs: 1000, maxAttempts: 3 };

/**
 * The document client every function uses. Explicit timeouts (the SDK's own default waits on a
 * silent socket for minutes, far past the function's timeout) and a bounded retry policy: the
 * SDK's standard mode retries throttling, 5xx, timeouts and lost connections with jittered
 * backoff. Retries can repeat a write that did apply: every conditional write of ours recognises
 * its own earlier effect (see lib/claims/claim.ts).
 */
export function createDocumentClient(config: Pick<Config, 'awsRegion' | 'endpoints'> & Partial<Pick<Config, 'dynamodbClient'>>): DynamoDBDocumentClient {
  const local = config.endpoints.dynamodb;
  const settings = config.dynamodbClient ?? DEFAULT_CLIENT_SETTINGS;
  const client = new DynamoDBClient({
    region: config.awsRegion,
    maxAttempts: settings.maxAttempts,
    retryMode: 'standard',
    // Without throwOnRequestTimeout the handler only logs a warning and keeps waiting.
    requestHandler: { connectionTimeout: settings.connectTimeoutMs, requestTimeout: settings.requestTimeoutMs, throwOnRequestTimeout: true },
    ...(local ? { endpoint: local, credentials: LOCAL_CREDENTIALS } : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

type MetricsLogger = NonNullable<NonNullable<ConstructorParameters<typeof Metrics>[0]>['logger']>;

/**
 * Where Powertools Metrics reports on itself: through the function's logger. Its notice that an
 * invocation recorded no metric comes on most reads and means nothing here, so it goes to debug;
 * its other warnings (a dimension or metric CloudWatch would refuse) stay warnings.
 */
export function metricsLogger(logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>): MetricsLogger {
  const text = (content: unknown[]) => content.map(String).join(' ');
  return {
    debug: (...content: unknown[]) => logger.debug(text(content)),
    info: (...content: unknown[]) => logger.info(text(content)),
    warn: (...content: unknown[]) => (/^No application metrics to publish/.test(text(content)) ? logger.debug(text(content)) : logger.warn(text(content))),
    error: (...content: unknown[]) => logger.error(text(content)),
  };
}

/**
 * Builds everything a function needs, once per cold start. Tests pass overrides (their own
 * tables, an injected clock) instead of touching the environment.
 */
export function createDeps(overrides: Partial<Deps> = {}): Deps {
  const config = overrides.config ?? loadConfig();
  const logger = overrides.logger ?? new Logger({ serviceName: 'gs-inventory' });
  return {
    config,
    ddb: overrides.ddb ?? createDocumentClient(config),
    clock: overrides.clock ?? Date.now,
    logger,
    metrics: overrides.metrics ?? new Metrics({ namespace: 'GameServerInventory', serviceName: 'gs-inventory', logger: metricsLogger(logger) }),
  };
}
