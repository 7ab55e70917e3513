import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { makeHandler as makeStatusPoller } from '../../functions/status-poller';
import { loadConfig } from '../../lib/config';
import { createDeps, type Deps } from '../../lib/deps';
import { startHttpServer } from './http-server';
import { provisionStage, type ProvisionedStack } from './provision';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalServices, type LocalServices } from './services';
import { startSqsEventSource } from './sqs-event-source';

export const DEFAULT_LOCAL_API_KEYS = 'matchmaker:mm-local-key,load-balancer:lb-local-key,reader:ro-local-key,ops:admin:admin-local-key';

export interface LocalStackOptions {
  /** HTTP API port; 0 picks a free one. */
  port?: number;
  dynamodbPort?: number;
  sqsPort?: number;
  dataDir?: string;
  stage?: string;
  /**
   * Extra configuration, as environment variables would give it (over process.env). With
   * DYNAMODB_ENDPOINT or SQS_ENDPOINT set, that service is used as it is instead of started.
   */
  env?: Record<string, string | undefined>;
  /** Parallel poller loops (Lambda runs several batches at once). */
  pollerConcurrency?: number;
  clock?: () => number;
  logLevel?: string;
}

export interface LocalStack {
  apiUrl: string;
  services: LocalServices;
  stack: ProvisionedStack;
  deps: Deps;
  sqs: SQSClient;
  stop(): Promise<void>;
}

/**
 * The whole system on one machine: DynamoDB Local and local SQS (child processes), tables and
 * queues from infra/resources.cjs, the HTTP API, and the status poller consuming the queue with
 * Lambda's batch semantics. A service given by DYNAMODB_ENDPOINT / SQS_ENDPOINT (options.env over
 * process.env) is used instead of started: a shared DynamoDB Local, or a fault proxy in front of
 * one; the stage's tables and queues are created there only if missing. stop() tears down what
 * this call started (child processes by PID) and leaves given services and all tables alone.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const env = { ...process.env, ...options.env };
  const services = await startLocalServices({
    ...(options.dynamodbPort !== undefined ? { dynamodbPort: options.dynamodbPort } : {}),
    ...(options.sqsPort !== undefined ? { sqsPort: options.sqsPort } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(env.DYNAMODB_ENDPOINT ? { dynamodbEndpoint: env.DYNAMODB_ENDPOINT } : {}),
    ...(env.SQS_ENDPOINT ? { sqsEndpoint: env.SQS_ENDPOINT } : {}),
  });
  const stops: Array<() => Promise<void>> = [() => services.stop()];
  const stop = async () => {
    // splice: each step runs once, however often stop() is called.
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const stage = options.stage ?? 'local';
    const stack = await provisionStage(stage, { dynamodb: services.dynamodbEndpoint, sqs: services.sqsEndpoint });
    const config = loadConfig({
      ...env,
      // Documented local defaults, unless keys are configured.
      API_KEYS: options.env?.API_KEYS ?? process.env.API_KEYS ?? DEFAULT_LOCAL_API_KEYS,
      STAGE: stage,
      DYNAMODB_ENDPOINT: services.dynamodbEndpoint,
      SQS_ENDPOINT: services.sqsEndpoint,
    });
    const logger = new Logger({ serviceName: 'gs-inventory', logLevel: (options.logLevel ?? 'WARN') as 'WARN' });
    const deps = createDeps({ config, logger, ...(options.clock ? { clock: options.clock } : {}) });
    const sqs = new SQSClient({ endpoint: services.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    stops.push(async () => {
      sqs.destroy();
      deps.ddb.destroy();
    });

    const poller = startSqsEventSource({
      sqs,
      queueUrl: stack.statusQueueUrl,
      queueArn: stack.statusQueueArn,
      handler: makeStatusPoller(deps),
      batchSize: 10,
      concurrency: options.pollerConcurrency ?? 2,
      onBatch: ({ error }) => {
        if (error) logger.error('poller batch failed', { error: error as Error });
      },
    });
    stops.push(() => poller.stop());

    // Each function instance gets deps of its own (its own metrics buffer, as on AWS), sharing the
    // DynamoDB client and the logger.
    const http = await startHttpServer(deps, {
      port: options.port ?? 3000,
      instanceDeps: () => createDeps({ config, logger, ddb: deps.ddb, clock: deps.clock }),
    });
    stops.push(() => http.close());
    return { apiUrl: http.url, services, stack, deps, sqs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
