import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfig } from '../../lib/config';
import { createDeps, type Deps } from '../../lib/deps';
import { startHttpServer } from '../local/http-server';
import { provisionStage, type ProvisionedStack } from '../local/provision';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalServices, type LocalServices } from '../local/services';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { PollerSupervisor } from './poller-supervisor';

/** Claimers act as several principals (named matchmaker keys), so claims of different owners race. */
const MATCHMAKER_PRINCIPALS = 4;
export const CHAOS_KEYS = {
  matchmaker: 'chaos-mm-key',
  loadBalancer: 'chaos-lb-key',
  reader: 'chaos-ro-key',
  matchmakers: Array.from({ length: MATCHMAKER_PRINCIPALS }, (_, i) => `chaos-mm-${i}-key`),
};
const API_KEYS = [
  `matchmaker:${CHAOS_KEYS.matchmaker}`,
  `load-balancer:${CHAOS_KEYS.loadBalancer}`,
  `reader:${CHAOS_KEYS.reader}`,
  ...CHAOS_KEYS.matchmakers.map((key, i) => `mm-${i}:matchmaker:${key}`),
].join(',');
/** Long enough that no server goes stale during a run: freshness is not what chaos checks. */
export const HEARTBEAT_TIMEOUT_SECONDS = 600;

export interface ClusterOptions {
  seed: number;
  stage: string;
  apiInstances: number;
  receiptsFile: string;
  /** The bundled poller process (see bundlePoller). */
  pollerScript: string;
  poller: { visibilitySeconds: number; batchTimeoutMs: number; concurrency: number };
  logLevel?: string;
}

export interface Cluster {
  stage: string;
  services: LocalServices;
  stack: ProvisionedStack;
  proxy: FaultProxy;
  apiUrls: string[];
  poller: PollerSupervisor;
  /** SQS, straight to the local server (pods and the checker). */
  sqs: SQSClient;
  /** DynamoDB Local, straight (not through the proxy): only the checker and set-up read it. */
  ddb: DynamoDBDocumentClient;
  /** Closes the API instances (their pending requests fail); the rest stays up. */
  stopApis(): Promise<void>;
  /** Ends everything, child processes by PID. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The system under test on 127.0.0.1: DynamoDB Local and local SQS (child processes), the stage's
 * tables and queues, a fault proxy in front of DynamoDB Local, `apiInstances` HTTP APIs (each with
 * its own deps, all through the proxy) and the status poller as a child process (through the
 * proxy too). On any start-up failure, whatever was started is stopped again.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const stops: Array<() => Promise<void>> = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const services = await startLocalServices();
    stops.push(() => services.stop());
    const stack = await provisionStage(options.stage, { dynamodb: services.dynamodbEndpoint, sqs: services.sqsEndpoint });

    const proxy = await startFaultProxy({ target: services.dynamodbEndpoint, seed: options.seed });
    stops.push(() => proxy.close());

    const sqs = new SQSClient({ endpoint: services.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const ddb = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: services.dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    stops.push(async () => {
      sqs.destroy();
      ddb.destroy();
    });

    const env = {
      STAGE: options.stage,
      AWS_REGION: LOCAL_REGION,
      DYNAMODB_ENDPOINT: proxy.url,
      SQS_ENDPOINT: services.sqsEndpoint,
      HEARTBEAT_TIMEOUT_SECONDS: String(HEARTBEAT_TIMEOUT_SECONDS),
    };
    const logLevel = (options.logLevel ?? 'SILENT') as 'SILENT';
    const apis: Array<{ deps: Deps; close(): Promise<void> }> = [];
    const apiUrls: string[] = [];
    let apisStopped = false;
    const stopApis = async () => {
      if (apisStopped) return;
      apisStopped = true;
      await Promise.all(apis.map((api) => api.close().catch(() => undefined)));
      for (const api of apis) api.deps.ddb.destroy();
    };
    stops.push(stopApis);
    for (let i = 0; i < options.apiInstances; i++) {
      const config = loadConfig({ ...env, API_KEYS });
      const logger = new Logger({ serviceName: `gs-inventory-chaos-api-${i}`, logLevel });
      // Metrics warn through the logger ("no metrics to publish"): silent with it.
      const metrics = new Metrics({ namespace: 'GameServerInventoryChaos', serviceName: `chaos-api-${i}`, logger });
      const deps = createDeps({ config, logger, metrics });
      const http = await startHttpServer(deps, { port: 0 });
      apis.push({ deps, close: () => http.close() });
      apiUrls.push(http.url);
    }

    const poller = new PollerSupervisor(options.pollerScript, {
      ...env,
      CHAOS_STAGE: options.stage,
      CHAOS_DYNAMODB_ENDPOINT: proxy.url,
      CHAOS_SQS_ENDPOINT: services.sqsEndpoint,
      CHAOS_QUEUE_URL: stack.statusQueueUrl,
      CHAOS_QUEUE_ARN: stack.statusQueueArn,
      CHAOS_RECEIPTS: options.receiptsFile,
      CHAOS_VISIBILITY_SECONDS: String(options.poller.visibilitySeconds),
      CHAOS_BATCH_TIMEOUT_MS: String(options.poller.batchTimeoutMs),
      CHAOS_CONCURRENCY: String(options.poller.concurrency),
      CHAOS_LOG_LEVEL: logLevel,
    });
    stops.push(() => poller.stop());
    await poller.start();

    return { stage: options.stage, services, stack, proxy, apiUrls, poller, sqs, ddb, stopApis, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
