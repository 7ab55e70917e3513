import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig, type Config } from '../../lib/config';
import { createDeps, type Deps } from '../../lib/deps';
import { provisionStage, type ProvisionedStack } from '../../scripts/local/provision';
import { startLocalServices, type LocalServices } from '../../scripts/local/services';
import { API_KEYS_ENV } from '../../testkit/api-keys';
import { CpuProbe } from './cpu';
import { CommandCounter, createBenchDocumentClient } from './ddb';

export interface BenchEnv {
  services: LocalServices;
  /** Uncounted client for setup and checks (registration, reading the table back). */
  admin: DynamoDBDocumentClient;
  cpu: CpuProbe;
  shards: number;
  /**
   * DynamoDB client timeouts of the stages (lib/config.ts variables), when not the production
   * defaults. The quick run (a correctness check inside `npm test`, next to the whole suite and
   * perhaps CPU hogs) waits as long as the test stacks do: a slow answer there is load, not a
   * fault, and would otherwise be a 503 counted as an error. The full run measures the defaults.
   */
  dynamodbTimeouts?: { requestMs: number; connectMs: number };
  stop(): Promise<void>;
}

/** Starts DynamoDB Local and local SQS (child processes on 127.0.0.1, stopped by PID). */
export async function startBenchEnv(options: { shards: number; dynamodbTimeouts?: BenchEnv['dynamodbTimeouts'] }): Promise<BenchEnv> {
  const services = await startLocalServices();
  const admin = createBenchDocumentClient(services.dynamodbEndpoint);
  const cpu = new CpuProbe();
  const [dynamodbPid, sqsPid] = services.pids;
  if (dynamodbPid) cpu.watch('dynamodb-local', dynamodbPid);
  if (sqsPid) cpu.watch('local sqs', sqsPid);
  return {
    services,
    admin,
    cpu,
    shards: options.shards,
    ...(options.dynamodbTimeouts ? { dynamodbTimeouts: options.dynamodbTimeouts } : {}),
    stop: async () => {
      admin.destroy();
      await services.stop();
    },
  };
}

export interface BenchStage {
  stack: ProvisionedStack;
  config: Config;
  /** The environment a function instance of this stage is configured with. */
  env: Record<string, string>;
  /** Deps as createDeps builds them, with a counted DynamoDB client. */
  deps: Deps;
  counter: CommandCounter;
  /** Another set of deps on the same tables with its own counted client. */
  newDeps(): { deps: Deps; counter: CommandCounter };
  destroy(): Promise<void>;
}

/**
 * The configuration every bench stage runs with: the defaults of lib/config.ts, except a long
 * heartbeat timeout (the bench registers servers once and does not heartbeat them), the shard
 * count under test and, in the quick run, the DynamoDB timeouts (BenchEnv.dynamodbTimeouts).
 */
export function stageEnv(env: BenchEnv, stage: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    STAGE: stage,
    DYNAMODB_ENDPOINT: env.services.dynamodbEndpoint,
    SQS_ENDPOINT: env.services.sqsEndpoint,
    API_KEYS: API_KEYS_ENV,
    HEARTBEAT_TIMEOUT_SECONDS: '3600',
    AVAILABILITY_SHARDS: String(env.shards),
    ...(env.dynamodbTimeouts
      ? { DYNAMODB_REQUEST_TIMEOUT_MS: String(env.dynamodbTimeouts.requestMs), DYNAMODB_CONNECT_TIMEOUT_MS: String(env.dynamodbTimeouts.connectMs) }
      : {}),
    ...overrides,
  };
}

export function silentDeps(config: Config, ddb: DynamoDBDocumentClient): Deps {
  const logger = new Logger({ serviceName: 'gs-inventory-bench', logLevel: 'SILENT' });
  // Metrics are disabled (no EMF output); its own warnings go to the silent logger too.
  return createDeps({ config, ddb, logger, metrics: new Metrics({ namespace: 'bench', serviceName: 'bench', logger }) });
}

/** Tables and queues of one stage, from infra/resources.cjs, on the bench's local services. */
export async function createStage(env: BenchEnv, stage: string, overrides: Record<string, string> = {}): Promise<BenchStage> {
  const stack = await provisionStage(stage, { dynamodb: env.services.dynamodbEndpoint, sqs: env.services.sqsEndpoint });
  const vars = stageEnv(env, stage, overrides);
  const config = loadConfig(vars);
  const clients: DynamoDBDocumentClient[] = [];
  const newDeps = () => {
    const counter = new CommandCounter();
    const ddb = createBenchDocumentClient(env.services.dynamodbEndpoint, counter);
    clients.push(ddb);
    return { deps: silentDeps(config, ddb), counter };
  };
  const { deps, counter } = newDeps();
  return {
    stack,
    config,
    env: vars,
    deps,
    counter,
    newDeps,
    destroy: async () => {
      for (const client of clients) client.destroy();
      await stack.destroy();
    },
  };
}
