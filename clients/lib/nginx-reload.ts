import { readFile } from 'node:fs/promises';

/**
 * Why nginx was not reloaded. In each case nginx goes on with its old upstreams: lb-bootstrap
 * treats every one as fatal (exit non-zero, Kubernetes restarts the container and the restarts
 * show) rather than let nginx send new sessions to servers that are going away, in silence.
 */
export type NginxReloadFailure =
  /** The pid file is missing or unreadable: nginx has not started, or writes its pid elsewhere. */
  | 'pid-file-unreadable'
  /** The pid file does not hold one process id above 1. */
  | 'pid-file-invalid'
  /** No process has that id: nginx is not running (the pid file is stale). */
  | 'not-running'
  /** The process is not an nginx master process (a stale pid file whose pid was reused). */
  | 'not-nginx'
  /** EPERM: nginx runs as another user, or in another process namespace. */
  | 'not-permitted'
  | 'signal-failed';

export type NginxReloadResult = { ok: true; pid: number } | { ok: false; failure: NginxReloadFailure; reason: string };

export interface NginxReloadDeps {
  kill(pid: number, signal: NodeJS.Signals): void;
  /**
   * The command line of a process (its arguments joined by spaces); `null` when no such process
   * exists; `undefined` when it cannot be told (no /proc here, or /proc mounted with hidepid):
   * the signal alone decides then.
   */
  commandLine(pid: number): Promise<string | null | undefined>;
}

/** What nginx calls its master process (`ngx_setproctitle`): the one process that takes SIGHUP. */
const NGINX_MASTER_TITLE = 'nginx: master process';

const errnoOf = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;

async function procCommandLine(pid: number): Promise<string | null | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0+$/, '').replaceAll('\0', ' ');
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') return undefined;
    // ENOENT from a working /proc means no such process; without /proc it means nothing.
    const procWorks = await readFile('/proc/self/cmdline').then(() => true, () => false);
    return procWorks ? null : undefined;
  }
}

const DEFAULT_DEPS: NginxReloadDeps = { kill: (pid, signal) => process.kill(pid, signal), commandLine: procCommandLine };

/**
 * The process id in an nginx pid file, or `undefined` when the text is not one. 0 and 1 are
 * refused: 0 would signal our own process group, and pid 1 in a pod's shared process namespace
 * is the pause container, never nginx.
 */
export function parseNginxPid(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d{1,10}$/.test(trimmed)) return undefined;
  const pid = Number(trimmed);
  return pid > 1 ? pid : undefined;
}

/** Maps what `kill(2)` said (its errno) to the reason an operator reads in the log. */
export function describeSignalFailure(pid: number, errno: string | undefined, detail = errno): { failure: NginxReloadFailure; reason: string } {
  switch (errno) {
    case 'ESRCH':
      return { failure: 'not-running', reason: `no process ${pid}: nginx is not running (stale pid file)` };
    case 'EPERM':
      return {
        failure: 'not-permitted',
        reason: `not permitted to signal process ${pid}: nginx must run as this container's user (runAsUser) in the pod's shared process namespace`,
      };
    default:
      return { failure: 'signal-failed', reason: `SIGHUP to process ${pid} failed: ${detail ?? 'unknown error'}` };
  }
}

/**
 * Reloads nginx: reads the master's pid from `pidFile`, checks that the process is an nginx
 * master (a stale pid file can name a reused pid, and SIGHUP ends most programs) and sends it
 * SIGHUP, which makes nginx re-read its configuration with no session lost. Never throws: every
 * way it can fail is a result with a reason (see {@link NginxReloadFailure}).
 */
export async function reloadNginx(pidFile: string, deps: NginxReloadDeps = DEFAULT_DEPS): Promise<NginxReloadResult> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (error) {
    return { ok: false, failure: 'pid-file-unreadable', reason: `cannot read the pid file ${pidFile}: ${errnoOf(error) ?? (error as Error).message}` };
  }
  const pid = parseNginxPid(text);
  if (pid === undefined) return { ok: false, failure: 'pid-file-invalid', reason: `the pid file ${pidFile} holds ${JSON.stringify(text.trim().slice(0, 40))}, not a process id` };

  const command = await deps.commandLine(pid);
  if (command === null) return { ok: false, ...describeSignalFailure(pid, 'ESRCH') };
  if (command !== undefined && !command.startsWith(NGINX_MASTER_TITLE)) {
    return { ok: false, failure: 'not-nginx', reason: `process ${pid} is not an nginx master process (${JSON.stringify(command.slice(0, 60))}): stale pid file` };
  }
  try {
    deps.kill(pid, 'SIGHUP');
  } catch (error) {
    return { ok: false, ...describeSignalFailure(pid, errnoOf(error), (error as Error)?.message) };
  }
  return { ok: true, pid };
}
