import { randomBytes } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfig, type Config } from '../../lib/config';
import { createDeps, type Deps } from '../../lib/deps';
import { provisionStage, type ProvisionedStack } from '../../scripts/local/provision';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services';

/** A clock tests move by hand. */
export function manualClock(start = Date.now()) {
  let now = start;
  const clock = () => now;
  clock.set = (value: number) => {
    now = value;
  };
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
}

export interface TestStack {
  stack: ProvisionedStack;
  config: Config;
  deps: Deps;
  sqs: SQSClient;
  endpoints: { dynamodb: string; sqs: string };
  /** Deps sharing the tables and client but with other settings or clock. */
  depsWith(overrides: Partial<Omit<Deps, 'config'>> & { config?: Partial<Config> }): Deps;
  destroy(): Promise<void>;
}

/** Provisions a fresh stage (its own tables and queues) on the shared local services. */
export async function createTestStack(options: { env?: Record<string, string>; clock?: () => number } = {}): Promise<TestStack> {
  const endpoints = { dynamodb: inject('dynamodbEndpoint'), sqs: inject('sqsEndpoint') };
  const stage = `t${randomBytes(5).toString('hex')}`;
  const stack = await provisionStage(stage, endpoints);
  const config = loadConfig({
    STAGE: stage,
    DYNAMODB_ENDPOINT: endpoints.dynamodb,
    SQS_ENDPOINT: endpoints.sqs,
    // DynamoDB Local shares two cores with the whole suite: a slow answer is load, not a fault.
    // Fault behaviour is tested through the fault proxy with its own short timeouts.
    DYNAMODB_REQUEST_TIMEOUT_MS: '20000',
    DYNAMODB_CONNECT_TIMEOUT_MS: '10000',
    ...options.env,
  });
  const logger = new Logger({ serviceName: 'gs-inventory-test', logLevel: (process.env.TEST_LOG_LEVEL as 'SILENT') ?? 'SILENT' });
  // Warnings such as "no application metrics to publish" go to the silent test logger.
  const metrics = new Metrics({ namespace: 'test', serviceName: 'test', logger });
  const deps = createDeps({ config, logger, metrics, ...(options.clock ? { clock: options.clock } : {}) });
  const sqs = new SQSClient({ endpoint: endpoints.sqs, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    stack,
    config,
    deps,
    sqs,
    endpoints,
    depsWith: (overrides) => ({
      ...deps,
      ...overrides,
      config: { ...config, ...overrides.config },
    }),
    destroy: async () => {
      sqs.destroy();
      await stack.destroy();
      deps.ddb.destroy();
    },
  };
}
