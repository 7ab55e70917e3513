import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reloadNginx } from '../../clients/lib/nginx-reload';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { getGameServer } from '../../lib/game-servers/records';
import { startHttpServer } from '../../scripts/local/http-server';
import { freePort } from '../../scripts/local/services';
import { gsEvent } from '../fixtures/events';
import { API_KEYS_ENV, KEYS } from '../fixtures/http';
import { registerFleet } from '../fixtures/servers';
import { ROOT, start, startNginx, startScript, type Started } from '../e2e/processes';
import { createTestStack, type TestStack } from '../setup/stack';

/**
 * lb-bootstrap's nginx reload, with real processes: the reload itself (reloadNginx against a real
 * nginx, a process that is not nginx, a pid that does not exist), and the lb-bootstrap command
 * run as in the pod, whose run must end with exit code 1 and the reason when nginx cannot be
 * reloaded. No step waits for a time: each waits for an output line, a file or an exit.
 */

let t: TestStack;
let api: { url: string; close(): Promise<void> };
let dir: string;
/** Where the rendered config listens (nginx binds it on a reload). */
let listen: string;
const processes: Started[] = [];

beforeAll(async () => {
  t = await createTestStack({ env: { API_KEYS: API_KEYS_ENV } });
  api = await startHttpServer(t.deps, { port: 0, host: '127.0.0.1' });
  listen = `127.0.0.1:${await freePort()}`;
  dir = await mkdtemp(join(tmpdir(), 'gs-inventory-reload-'));
  // The command also runs as uid 10001 below: it writes its config here.
  await chmod(dir, 0o777);
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGQUIT').catch(() => undefined)));
  await api?.close();
  await t?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A process id no process can have: one above the kernel's largest. */
async function impossiblePid(): Promise<number> {
  return Number((await readFile('/proc/sys/kernel/pid_max', 'utf8')).trim()) + 1;
}

async function pidFileWith(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** Until `check` holds (output and files appear asynchronously); fails after many rounds, never on speed. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let round = 0; round < 600; round++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The JSON log lines of a run with this message. */
const logLines = (run: Started, message: string) =>
  run
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.message === message);

/** The lb-bootstrap sidecar's command line, as the pod gives it (flags instead of env). */
function lbArgs(options: { podUid: string; group: string; config: string; pidFile: string }): string[] {
  return [
    '--api-url', api.url,
    '--api-key', KEYS.loadBalancer,
    '--region', 'us-west',
    '--group', options.group,
    '--listen', listen,
    '--endpoint', listen,
    '--config', options.config,
    '--pod-uid', options.podUid,
    '--node', 'node-lb',
    '--nginx-pid-file', options.pidFile,
    '--watch-seconds', '0.1',
    '--deadline-seconds', '20',
    '--queue-url', t.stack.statusQueueUrl,
    '--sqs-endpoint', t.endpoints.sqs,
    '--log-level', 'info',
  ];
}

describe('reloadNginx', () => {
  it('refuses a missing pid file, and one that holds no process id above 1', async () => {
    expect(await reloadNginx(join(dir, 'absent.pid'))).toEqual({
      ok: false,
      failure: 'pid-file-unreadable',
      reason: `cannot read the pid file ${join(dir, 'absent.pid')}: ENOENT`,
    });
    for (const content of ['', 'nginx\n', '0\n', '1\n', '-1\n', '12 13\n']) {
      const result = await reloadNginx(await pidFileWith('invalid.pid', content));
      expect(result, JSON.stringify(content)).toMatchObject({ ok: false, failure: 'pid-file-invalid' });
    }
  });

  it('reports a pid no process has as nginx not running', async () => {
    const pid = await impossiblePid();
    expect(await reloadNginx(await pidFileWith('stale.pid', `${pid}\n`))).toEqual({
      ok: false,
      failure: 'not-running',
      reason: `no process ${pid}: nginx is not running (stale pid file)`,
    });
  });

  it('does not signal a process that is not an nginx master (a reused pid), and it keeps running', async () => {
    const other = spawn('sleep', ['600'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => other.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const result = await reloadNginx(await pidFileWith('reused.pid', `${other.pid}\n`));
      expect(result).toEqual({ ok: false, failure: 'not-nginx', reason: `process ${other.pid} is not an nginx master process ("sleep 600"): stale pid file` });
      expect(other.exitCode).toBeNull();
      expect(other.signalCode).toBeNull();
    } finally {
      other.kill('SIGKILL');
      expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
    }
  });

  it('reports a process it may not signal as not permitted, naming the fix', async () => {
    const eperm = Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    const result = await reloadNginx(await pidFileWith('root.pid', '4242\n'), {
      commandLine: async () => 'nginx: master process nginx -g daemon off;',
      kill: () => {
        throw eperm;
      },
    });
    expect(result).toEqual({
      ok: false,
      failure: 'not-permitted',
      reason: "not permitted to signal process 4242: nginx must run as this container's user (runAsUser) in the pod's shared process namespace",
    });
  });
});

describe('lb-bootstrap with a real nginx', () => {
  let nginx: Started & { pidFile: string; errorLog: string };
  let nginxPid: number;
  const config = () => join(dir, 'stream.conf');

  beforeAll(async () => {
    // nginx includes the file lb-bootstrap writes; an earlier claim's config is there already
    // (a restarted sidecar: the init container does not run again).
    await writeFile(config(), '# written for an earlier claim\n');
    nginx = await startNginx(dir, config());
    processes.push(nginx);
    await until('the nginx pid file', () => readFile(nginx.pidFile, 'utf8').then((text) => /^\d+\s*$/.test(text), () => false));
    nginxPid = Number((await readFile(nginx.pidFile, 'utf8')).trim());
  });

  it('reloadNginx sends the nginx master SIGHUP, and nginx reloads', async () => {
    expect(await reloadNginx(nginx.pidFile)).toEqual({ ok: true, pid: nginxPid });
    await until('nginx reconfiguring', async () => (await readFile(nginx.errorLog, 'utf8')).includes('signal 1 (SIGHUP) received'));
  });

  it.runIf(process.getuid?.() === 0)(
    'run as another user than nginx (uid 10001 beside a root nginx), it exits 1 at start saying it may not signal nginx',
    async () => {
      await registerFleet(t.deps, { count: 2, nodes: 2, group: 'reload-eperm', subnet: 91 });
      await writeFile(config(), '# written for an earlier claim\n');
      // The pod before this change: nginx as root, the sidecar as uid 10001 without CAP_KILL.
      const lb = start('lb-bootstrap', 'setpriv', [
        '--reuid=10001', '--regid=10001', '--clear-groups',
        process.execPath, '--import', 'tsx', join(ROOT, 'clients/cli/lb-bootstrap.ts'),
        ...lbArgs({ podUid: 'lb-reload-eperm', group: 'reload-eperm', config: config(), pidFile: nginx.pidFile }),
      ]);
      processes.push(lb);
      expect(await lb.exited).toEqual({ code: 1, signal: null });
      const reason = `not permitted to signal process ${nginxPid}: nginx must run as this container's user (runAsUser) in the pod's shared process namespace`;
      expect(lb.output()).toContain(`lb-bootstrap: nginx not reloaded: ${reason}; exiting so that the container restarts\n`);
      expect(logLines(lb, 'nginx not reloaded')).toMatchObject([{ level: 'error', failure: 'not-permitted', reason, pidFile: nginx.pidFile }]);
      expect(await readFile(config(), 'utf8')).toContain('10.0.91.');
      expect(nginx.child.exitCode).toBeNull();
    },
  );

  it('run as the same user as nginx, it reloads nginx at start when its config changed, and stays', async () => {
    await registerFleet(t.deps, { count: 2, nodes: 2, group: 'reload-ok', subnet: 92 });
    await writeFile(config(), '# written for an earlier claim\n');
    const lb = startScript('lb-bootstrap', 'clients/cli/lb-bootstrap.ts', lbArgs({ podUid: 'lb-reload-ok', group: 'reload-ok', config: config(), pidFile: nginx.pidFile }));
    processes.push(lb);
    // Reported ready after the reload: from then on it handles SIGTERM (release, exit 0).
    await lb.waitFor(/"message":"event sent","event":"ready"/);
    expect(logLines(lb, 'nginx reloaded')).toMatchObject([{ pid: nginxPid }]);
    await until('nginx reconfiguring for the claim', async () => (await readFile(nginx.errorLog, 'utf8')).split('signal 1 (SIGHUP) received').length === 3);
    expect(await lb.stop()).toEqual({ code: 0, signal: null });
  });
});

describe('lb-bootstrap when nginx is gone', () => {
  it('exits 1 saying why when a claimed server leaves and nginx cannot be reloaded (no such process)', async () => {
    const endpoints = await registerFleet(t.deps, { count: 2, nodes: 2, group: 'reload-gone', subnet: 90 });
    const pid = await impossiblePid();
    const config = join(dir, 'gone.conf');
    const lb = startScript('lb-bootstrap', 'clients/cli/lb-bootstrap.ts', lbArgs({ podUid: 'lb-reload-gone', group: 'reload-gone', config, pidFile: await pidFileWith('gone.pid', `${pid}\n`) }));
    processes.push(lb);
    await lb.waitFor(/^claimed /);
    // A fresh config (no earlier one): nothing to reload at start.
    expect(logLines(lb, 'nginx not reloaded')).toEqual([]);

    // One claimed server's pod ends: the watcher sees it, rewrites the config and reloads nginx.
    const [gone, kept] = endpoints as [string, string];
    const stored = (await getGameServer(t.deps, gone))!;
    await applyLifecycleEvent(t.deps, gsEvent({ event: 'terminating', endpoint: gone, node: stored.node, podUid: stored.podUid, group: 'reload-gone', seq: 2, sentAt: Date.now() }));

    expect(await lb.exited).toEqual({ code: 1, signal: null });
    const reason = `no process ${pid}: nginx is not running (stale pid file)`;
    expect(lb.output()).toContain(`upstreams now ${kept}\n`);
    expect(lb.output()).toContain(`lb-bootstrap: nginx not reloaded: ${reason}; exiting so that the container restarts\n`);
    expect(logLines(lb, 'nginx not reloaded')).toMatchObject([{ level: 'error', failure: 'not-running', reason }]);
    const written = await readFile(config, 'utf8');
    expect(written).toContain(`server ${kept} `);
    expect(written).not.toContain(gone);
  });
});
