import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { sleep } from '../../lib/backoff';
import { stopProcess } from '../local/services';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const POLLER = join(ROOT, 'scripts/chaos/poller-process.ts');

/**
 * Bundles poller-process.ts into one ES module (under node_modules/.cache, removed by the
 * returned function): a restarted poller is then up in about a second, where tsx would compile
 * it again each time. Restarts are frequent (every SIGKILL and every batch timeout), and while
 * the poller is down the queue only grows.
 */
export async function bundlePoller(): Promise<{ script: string; remove(): void }> {
  const dir = join(ROOT, 'node_modules/.cache/gs-chaos');
  mkdirSync(dir, { recursive: true });
  const script = join(dir, `poller-${process.pid}.mjs`);
  await build({
    entryPoints: [POLLER],
    outfile: script,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    // Bundled CommonJS dependencies call require() for Node built-ins.
    banner: { js: "import { createRequire as __chaosRequire } from 'node:module'; const require = __chaosRequire(import.meta.url);" },
  });
  return { script, remove: () => rmSync(script, { force: true }) };
}

export interface PollerEvents {
  starts: number;
  /** SIGKILLs sent by the run (poller crash mid-batch). */
  kills: Array<{ pid: number; at: number }>;
  /** Every exit, expected or not. */
  exits: Array<{ pid: number; at: number; code: number | null; signal: string | null }>;
  /** Exits because a batch ran past the Lambda timeout (exit code 124). */
  batchTimeouts: number;
}

/**
 * Runs scripts/chaos/poller-process.ts as a child process: starts it, SIGKILLs it mid-batch on
 * request and starts a new one, restarts it when it exits by itself (a batch timeout), and stops
 * it by PID.
 */
export class PollerSupervisor {
  readonly events: PollerEvents = { starts: 0, kills: [], exits: [], batchTimeouts: 0 };
  private child: ChildProcess | undefined;
  private stopping = false;
  private restarting: Promise<void> | undefined;
  private readonly pids = new Set<number>();
  private stderr = '';
  /** A restart that failed (the run reports it rather than crash on an unhandled rejection). */
  failure: Error | undefined;

  /** If this process ends without stop() (an uncaught error, an interrupt), take the pollers with it. */
  private readonly killOnExit = () => {
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  /** `script`: the bundled poller (see bundlePoller). */
  constructor(
    private readonly script: string,
    private readonly env: Record<string, string>,
  ) {
    process.once('exit', this.killOnExit);
  }

  /** PIDs of poller processes that may still run (for teardown). */
  livePids(): number[] {
    return [...this.pids];
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [this.script], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    this.events.starts++;
    if (child.pid !== undefined) this.pids.add(child.pid);
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      if (child.pid !== undefined) this.pids.delete(child.pid);
      this.events.exits.push({ pid: child.pid ?? -1, at: Date.now(), code, signal });
      if (code === 124) this.events.batchTimeouts++;
      // Exited by itself (batch timeout, crash): a new instance takes over, as Lambda would.
      if (this.child === child && !this.stopping) {
        this.child = undefined;
        this.respawn(200).catch((error: unknown) => {
          this.failure ??= error as Error;
        });
      }
    });
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`poller process did not start in 60 s: ${this.stderr}`)), 60_000);
      child.on('message', (message: { type?: string }) => {
        if (message?.type === 'ready') {
          clearTimeout(timer);
          ready();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code !== 0 && code !== 124) fail(new Error(`poller process exited during start-up (${code}): ${this.stderr}`));
        else ready();
      });
    });
  }

  /** Waits for the next batch to start (at most `waitMs`), SIGKILLs the poller a moment later, and starts a new one. */
  async killMidBatch(options: { waitMs: number; afterMs: number; downMs: number }): Promise<void> {
    await this.restarting;
    const child = this.child;
    if (!child || this.stopping) return;
    await new Promise<void>((started) => {
      const timer = setTimeout(started, options.waitMs);
      child.once('message', () => {
        clearTimeout(timer);
        started();
      });
    });
    await sleep(options.afterMs);
    if (this.child !== child || this.stopping) return;
    this.child = undefined;
    const exited = new Promise<void>((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', () => done())));
    if (child.pid !== undefined) {
      this.events.kills.push({ pid: child.pid, at: Date.now() });
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
    await this.respawn(options.downMs);
  }

  /** A fresh poller (e.g. after a stuck one). */
  async restart(): Promise<void> {
    await this.restarting;
    const child = this.child;
    this.child = undefined;
    if (child) await stopProcess(child, 'SIGKILL');
    await this.respawn(0);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.restarting?.catch(() => undefined);
    const child = this.child;
    this.child = undefined;
    if (child) await stopProcess(child, 'SIGTERM');
    this.killOnExit();
    process.removeListener('exit', this.killOnExit);
  }

  private respawn(delayMs: number): Promise<void> {
    this.restarting ??= (async () => {
      try {
        await sleep(delayMs);
        if (!this.stopping) await this.start();
      } finally {
        this.restarting = undefined;
      }
    })();
    return this.restarting;
  }
}

