import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Started {
  child: ChildProcess;
  name: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first output line matching `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM by PID (if still running), and the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a child process with piped output, remembered for waitFor and for failure messages. */
export function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of [...waiters]) {
      const line = output.split('\n').find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const waiter of waiters.splice(0)) waiter.reject(new Error(`${name} exited (${code ?? signal}) before printing ${waiter.pattern}:\n${output}`));
      resolve({ code, signal });
    }),
  );
  return {
    child,
    name,
    output: () => output,
    waitFor(pattern) {
      const line = output.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return Promise.resolve(line);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`${name} already exited:\n${output}`));
      return new Promise((resolve, reject) => waiters.push({ pattern, resolve, reject }));
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, signal);
      return exited;
    },
  };
}

/** A TypeScript entry point of this package, run the way `npm run <name>` runs it (tsx). */
export function startScript(name: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Started {
  return start(name, process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], env);
}

export const STREAM_MODULE_PATHS = ['/usr/lib/nginx/modules/ngx_stream_module.so', '/usr/share/nginx/modules/ngx_stream_module.so'];

/**
 * Finds a runnable nginx with the stream module. Throws with the command that installs it (the
 * e2e test fails rather than skips when nginx cannot run).
 */
export function locateNginx(): { binary: string; loadModule?: string } {
  const install = 'run `bash scripts/ensure-system-deps.sh` (as root: apt-get install -y nginx libnginx-mod-stream)';
  const probe = spawnSync('nginx', ['-V'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(`nginx is not installed or does not run (${probe.error?.message ?? probe.stderr}); ${install}`);
  const build = `${probe.stdout}${probe.stderr}`;
  if (/--with-stream(\s|$)/.test(build)) return { binary: 'nginx' };
  const module = STREAM_MODULE_PATHS.find((path) => existsSync(path));
  if (/--with-stream=dynamic/.test(build) && module) return { binary: 'nginx', loadModule: module };
  throw new Error(`nginx has no stream module; ${install}`);
}

/**
 * A private nginx: its own prefix, pid file and error log in `dir`, listening only where the
 * included stream config says (127.0.0.1), in the foreground so that it is our child, stopped by PID.
 */
export async function startNginx(dir: string, streamConfig: string): Promise<Started & { pidFile: string; errorLog: string }> {
  const { binary, loadModule } = locateNginx();
  const pidFile = join(dir, 'nginx.pid');
  const errorLog = join(dir, 'error.log');
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    [
      ...(loadModule ? [`load_module ${loadModule};`] : []),
      'worker_processes 1;',
      `pid ${pidFile};`,
      `error_log ${errorLog} info;`,
      // A UDP session holds two connections until proxy_timeout; the tests open many sessions a second.
      'events { worker_connections 4096; }',
      `stream { include ${streamConfig}; }`,
      '',
    ].join('\n'),
  );
  const test = spawnSync(binary, ['-t', '-p', dir, '-c', conf, '-e', errorLog], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t refused the generated config:\n${test.stderr}`);
  const nginx = start('nginx', binary, ['-p', dir, '-c', conf, '-e', errorLog, '-g', 'daemon off;']);
  return { ...nginx, pidFile, errorLog };
}

/**
 * The PIDs of a process's children (from /proc), e.g. an nginx master's workers. After a reload
 * nginx's old workers keep taking new sessions until the master tells them to quit (100 ms after
 * the new workers start), and live on until their sessions end: a reload is complete only when
 * they are gone.
 */
export async function childPids(parent: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === parent) children.push(Number(entry));
  }
  return children.sort((a, b) => a - b);
}

/** Whether an nginx master runs one worker, none of `before`: a reload since then is complete. */
export async function workersReplaced(master: number, before: readonly number[]): Promise<boolean> {
  const workers = await childPids(master);
  return workers.length === 1 && !before.includes(workers[0]!);
}
