import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandCounts } from './ddb';

/** One function's instances in the local HTTP server (scripts/local/function-instances.ts stats()). */
export interface InstanceStats {
  created: number;
  busy: number;
  idle: number;
  waiting: number;
  coldStartMs: number;
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'http-child.ts');

export interface HttpServerProcess {
  url: string;
  pid: number;
  /** The DynamoDB commands the server's handlers have sent so far. */
  counts(): Promise<CommandCounts>;
  /** Per function: the Lambda-like instances made so far (cold starts) and their initialisation time. */
  instances(): Promise<Record<string, InstanceStats>>;
  stop(): Promise<void>;
}

/**
 * Starts the local HTTP server for one stage in its own Node process (listening on 127.0.0.1,
 * a free port), so the load generator and the server do not share an event loop. Stopped by PID.
 */
export async function startHttpServerProcess(stageEnv: Record<string, string>): Promise<HttpServerProcess> {
  const child: ChildProcess = fork(CHILD, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_STAGE_ENV: JSON.stringify(stageEnv) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the HTTP server process did not start within 30 s')), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the HTTP server process exited during start-up (code ${code})`));
    });
    child.on('message', (message: { type: string; url?: string }) => {
      if (message.type === 'ready' && message.url) {
        clearTimeout(timer);
        resolve(message.url);
      }
    });
  });
  child.removeAllListeners('exit');
  let nextId = 0;
  /** Asks the child for one report over IPC and resolves with the field of its answer. */
  const ask = <T>(type: 'counts' | 'instances'): Promise<T> =>
    new Promise((resolve) => {
      const id = ++nextId;
      const onMessage = (message: { type: string; id?: number } & Record<string, unknown>) => {
        if (message.type === type && message.id === id && message[type] !== undefined) {
          child.off('message', onMessage);
          resolve(message[type] as T);
        }
      };
      child.on('message', onMessage);
      child.send({ type, id });
    });
  return {
    url,
    pid: child.pid!,
    counts: () => ask<CommandCounts>('counts'),
    instances: () => ask<Record<string, InstanceStats>>('instances'),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => {
          try {
            process.kill(child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        process.kill(child.pid!, 'SIGTERM');
      }),
  };
}
