import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfig, type Config } from './config';

export type Clock = () => number;

export interface Deps {
  config: Config;
  ddb: DynamoDBDocumentClient;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

/** Dummy credentials for local services. DynamoDB Local accepts only letters and digits here. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function createDocumentClient(config: Pick<Config, 'awsRegion' | 'endpoints'>): DynamoDBDocumentClient {
  const local = config.endpoints.dynamodb;
  const client = new DynamoDBClient({
    region: config.awsRegion,
    maxAttempts: 3,
    ...(local ? { endpoint: local, credentials: LOCAL_CREDENTIALS } : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/**
 * Builds everything a function needs, once per cold start. Tests pass overrides (their own
 * tables, an injected clock) instead of touching the environment.
 */
export function createDeps(overrides: Partial<Deps> = {}): Deps {
  const config = overrides.config ?? loadConfig();
  return {
    config,
    ddb: overrides.ddb ?? createDocumentClient(config),
    clock: overrides.clock ?? Date.now,
    logger: overrides.logger ?? new Logger({ serviceName: 'gs-inventory' }),
    metrics: overrides.metrics ?? new Metrics({ namespace: 'GameServerInventory', serviceName: 'gs-inventory' }),
  };
}
