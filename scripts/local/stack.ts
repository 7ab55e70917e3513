import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { Logger } from '@aws-lambda-powertools/logger';
import { makeHandler as makeNotifier } from '../../functions/notifier';
import { makeHandler as makeStatusPoller } from '../../functions/status-poller';
import { sweepStaleServers } from '../../lib/notifications/stale-sweep';
import { loadConfig } from '../../lib/config';
import { createDeps, type Deps } from '../../lib/deps';
import { startHttpServer } from './http-server';
import { provisionStage, type ProvisionedStack } from './provision';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalServices, type LocalServices } from './services';
import { startSqsEventSource } from './sqs-event-source';
import { startStreamEventSource, type StreamEventSource } from './stream-event-source';
import { createWebhookBus, DEFAULT_LOCAL_WEBHOOK_SECRET, type WebhookBus } from './webhook-bus';

/** How often the stale sweep runs, as the schedule does on AWS; STALE_SWEEP_INTERVAL_MS overrides. */
const STALE_SWEEP_INTERVAL_MS = 60_000;

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
  /** Log level of the webhook deliveries (each attempt is an INFO line); default logLevel. */
  notifyLogLevel?: string;
}

export interface LocalStack {
  apiUrl: string;
  services: LocalServices;
  stack: ProvisionedStack;
  deps: Deps;
  sqs: SQSClient;
  notifications: LocalNotifications;
  stop(): Promise<void>;
}

/** The notifier, its stand-in bus and the stale sweep, as `npm start` runs them. */
export interface LocalNotifications {
  /** The webhooks events are delivered to (NOTIFY_WEBHOOK_URLS). */
  webhooks: string[];
  bus: WebhookBus;
  /** Resolves once every change made before the call has been published and every webhook delivery settled. */
  drain(): Promise<void>;
  /** Runs the stale sweep now (it also runs every STALE_SWEEP_INTERVAL_MS). */
  sweep(): ReturnType<typeof sweepStaleServers>;
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

    const deliveryLogger = new Logger({ serviceName: 'gs-inventory', logLevel: (options.notifyLogLevel ?? options.logLevel ?? 'WARN') as 'WARN' });
    const notifications = startNotifications(env, deps, logger, deliveryLogger, services.dynamodbEndpoint, stack, sqs);
    stops.push(() => notifications.stop());

    // Each function instance gets deps of its own (its own metrics buffer, as on AWS), sharing the
    // DynamoDB client and the logger.
    const http = await startHttpServer(deps, {
      port: options.port ?? 3000,
      instanceDeps: () => createDeps({ config, logger, ddb: deps.ddb, clock: deps.clock }),
    });
    stops.push(() => http.close());
    return { apiUrl: http.url, services, stack, deps, sqs, notifications: notifications.local, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Notifications as on AWS, on this machine: the notifier consumes both tables' streams with
 * Lambda's semantics (stream-event-source.ts); the stage bus is stood in for by signed webhook
 * deliveries (webhook-bus.ts) to NOTIFY_WEBHOOK_URLS, one ordered outbox per webhook, so a slow or
 * dead webhook holds up only itself; the stale sweep runs on its schedule. Records the stream gives
 * up on go to the stage's notifier failure queue, as on AWS.
 */
function startNotifications(
  env: Record<string, string | undefined>,
  deps: Deps,
  logger: Logger,
  deliveryLogger: Logger,
  dynamodbEndpoint: string,
  stack: ProvisionedStack,
  sqs: SQSClient,
): { local: LocalNotifications; stop(): Promise<void> } {
  const webhooks = (env.NOTIFY_WEBHOOK_URLS ?? '').split(',').map((url) => url.trim()).filter(Boolean);
  const bus = createWebhookBus({
    subscribers: webhooks.map((url) => ({ url })),
    secret: env.NOTIFY_WEBHOOK_SECRET || DEFAULT_LOCAL_WEBHOOK_SECRET,
    logger: deliveryLogger,
  });
  const streams = new DynamoDBStreamsClient({ endpoint: dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  // A function of its own, as on AWS: its own metrics buffer (the poller flushes the stack's).
  const notifier = makeNotifier(createDeps({ config: deps.config, logger, ddb: deps.ddb, clock: deps.clock }), bus);
  const sources: StreamEventSource[] = [deps.config.tables.gameServers, deps.config.tables.loadBalancers].map((table) =>
    startStreamEventSource({
      streams,
      streamArn: stack.streamArns[table]!,
      handler: notifier,
      functionName: 'notifier',
      // A table kept from an earlier run (a data directory): tell what changes from now on.
      startingPosition: stack.createdTables.includes(table) ? 'TRIM_HORIZON' : 'LATEST',
      // As Lambda's on-failure destination does: a message naming the records' batch (their
      // shard and sequence numbers, not the records), on the stage's failure queue; and an error log.
      onFailure: async ({ shardId, records, error, attempts }) => {
        const batch = {
          streamArn: stack.streamArns[table],
          shardId,
          startSequenceNumber: records[0]?.dynamodb?.SequenceNumber,
          endSequenceNumber: records.at(-1)?.dynamodb?.SequenceNumber,
          batchSize: records.length,
          attempts,
          keys: records.map((record) => record.dynamodb?.Keys),
          error: String(error),
        };
        logger.error('stream records given up on: sent to the notifier failure queue', { table, ...batch });
        await sqs.send(new SendMessageCommand({ QueueUrl: stack.notifierFailureQueueUrl, MessageBody: JSON.stringify(batch) }));
      },
    }),
  );
  const sweep = () => sweepStaleServers(deps);
  const interval = Number(env.STALE_SWEEP_INTERVAL_MS ?? STALE_SWEEP_INTERVAL_MS);
  const timer = setInterval(() => {
    sweep()
      .then((result) => result.marked > 0 && logger.info('stale sweep', { ...result }))
      .catch((error: Error) => logger.error('stale sweep failed', { error }));
  }, interval);
  timer.unref();
  return {
    local: {
      webhooks,
      bus,
      sweep,
      async drain() {
        await Promise.all(sources.map((source) => source.drain()));
        await bus.drain();
      },
    },
    async stop() {
      clearInterval(timer);
      await Promise.all(sources.map((source) => source.stop()));
      await bus.stop();
      streams.destroy();
    },
  };
}
