import { spawn, type ChildProcess } from 'node:child_process';
import type { GameServerAgent } from './gs-agent';
import { sleep } from './backoff';
import { describeError, silentLogger, type AgentLogger } from './log';

export interface SuperviseOptions {
  agent: GameServerAgent;
  /** Wrap mode: the game server's command line, started as a child with this process's stdio. */
  command?: string[];
  /** After SIGTERM, how long the game keeps running (players finish) before it is stopped. */
  gracePeriodMs: number;
  /** After the game is sent SIGTERM, how long it has to exit before SIGKILL. */
  stopTimeoutMs?: number;
  logger?: AgentLogger;
  /** The process whose signals are handled (default: this one). */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs the agent for the lifetime of a game server and resolves with the exit code to leave with.
 *
 * Wrap mode (`command`): starts the game, then the agent. On SIGTERM (or SIGINT) the agent sends
 * `terminating` at once (no new claims), the game keeps running for the grace period (or until it
 * exits by itself), then gets SIGTERM, and SIGKILL after `stopTimeoutMs`; the exit is clean (0)
 * when the game ended on our request. A game that exits by itself is reported `terminated` and its
 * exit code passed on (Kubernetes restarts the container, which registers as a new generation).
 * Sidecar mode (no command): runs until SIGTERM, sends `terminating`, exits 0.
 */
export async function superviseGameServer(options: SuperviseOptions): Promise<number> {
  const { agent } = options;
  const logger = options.logger ?? silentLogger;
  const signals = options.signals ?? process;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;

  let child: ChildProcess | undefined;
  let childExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  if (options.command) {
    const [file, ...args] = options.command;
    if (!file) throw new Error('empty game-server command');
    child = spawn(file, args, { stdio: 'inherit' });
    const started = new Promise<Error | undefined>((resolve) => {
      child!.once('spawn', () => resolve(undefined));
      child!.once('error', (error) => resolve(error));
    });
    childExit = new Promise((resolve) => child!.once('exit', (code, signal) => resolve({ code, signal })));
    const failed = await started;
    if (failed) {
      logger.error('game server did not start', { command: file, error: describeError(failed) });
      return 127;
    }
    logger.info('game server started', { pid: child.pid, command: file });
  }

  return new Promise<number>((resolve) => {
    let shuttingDown = false;
    let stopRequested = false;
    const hurry = new AbortController();
    const cleanup = () => {
      for (const name of ['SIGTERM', 'SIGINT'] as const) signals.off(name, onSignal);
    };

    const stopChild = async () => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      stopRequested = true;
      logger.info('stopping game server', { pid: child.pid });
      child.kill('SIGTERM');
      const killed = await Promise.race([childExit!.then(() => true), sleep(stopTimeoutMs).then(() => false)]);
      if (!killed) {
        logger.warn('game server ignored SIGTERM, killing it', { pid: child.pid });
        child.kill('SIGKILL');
      }
    };

    function onSignal(signal: NodeJS.Signals) {
      if (shuttingDown) {
        // A second signal: no more waiting.
        hurry.abort();
        return;
      }
      shuttingDown = true;
      logger.info('shutting down', { signal, graceSeconds: options.gracePeriodMs / 1000 });
      void (async () => {
        const terminating = agent.terminate(hurry.signal);
        if (!child) {
          await terminating;
          cleanup();
          return resolve(0);
        }
        // The game keeps serving its players during the grace period.
        const grace = AbortSignal.any([hurry.signal, AbortSignal.timeout(Math.max(0, options.gracePeriodMs))]);
        await Promise.race([childExit!, sleep(options.gracePeriodMs, grace)]);
        await stopChild();
        await terminating;
      })();
    }
    for (const name of ['SIGTERM', 'SIGINT'] as const) signals.on(name, onSignal);
    // After the handlers: a SIGTERM during start-up is handled like any other.
    void agent.start();

    if (childExit) {
      void childExit.then(async ({ code, signal }) => {
        if (!shuttingDown) {
          // The game ended by itself: the server is gone.
          logger.warn('game server exited', { code, signal });
          await agent.terminate(undefined, 'terminated');
        }
        cleanup();
        if (stopRequested || (shuttingDown && code === 0)) return resolve(0);
        resolve(code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 1));
      });
    }
  });
}
