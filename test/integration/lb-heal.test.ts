import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimServersForLoadBalancer, ClaimWatcher, InventoryApiClient, type AgentLogger, type ReplaceRequest } from '../../clients/lib';
import { LB_BOOTSTRAP_OPTIONS } from '../../clients/cli/specs';
import { parseCommandLine, UsageError } from '../../clients/cli/options';
import type { GameServer } from '../../schemas/http';
import { getClaim } from '../../lib/claims/repo';
import { getGameServer, getGameServers } from '../../lib/game-servers/records';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { applyNodeEvent } from '../../lib/ingestion/apply-node-event';
import { startHttpServer } from '../../scripts/local/http-server';
import { gsEvent } from '../fixtures/events';
import { API_KEYS_ENV, KEYS } from '../fixtures/http';
import { nodeEvent } from '../fixtures/node-sequences';
import { registerFleet } from '../fixtures/servers';
import { startScript, type Started } from '../e2e/processes';
import { createTestStack, type TestStack } from '../setup/stack';

/**
 * lb-bootstrap's healing: the claim watcher replaces a lost upstream through the real API
 * (POST /claims/{id}/replace on the local HTTP server, DynamoDB Local behind it), backs off while
 * no replacement can be had or the API fails, and never lets a failed look end the load balancer;
 * and the command's options that turn it on and off. Looks are driven by calling check() with an
 * injected clock: no step waits for a time.
 */

let t: TestStack;
let api: { url: string; close(): Promise<void> };
let dir: string;
const processes: Started[] = [];
let sequence = 0;

beforeAll(async () => {
  t = await createTestStack({ env: { API_KEYS: API_KEYS_ENV } });
  api = await startHttpServer(t.deps, { port: 0, host: '127.0.0.1' });
  dir = await mkdtemp(join(tmpdir(), 'gs-inventory-heal-'));
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
  await api?.close();
  await t?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The API as the load balancer calls it, counting its replace requests. */
class CountingClient extends InventoryApiClient {
  replaces: string[] = [];
  override replace(claimId: string, request: ReplaceRequest) {
    this.replaces.push(request.lost);
    return super.replace(claimId, request);
  }
}

function recordingLogger(): AgentLogger & { lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const log = (level: string) => (message: string, fields: Record<string, unknown> = {}) => lines.push({ level, message, fields });
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

interface Fleet {
  group: string;
  subnet: number;
  endpoints: string[];
  nodeOf: (endpoint: string) => string;
}

async function fleet(count: number, nodes: number): Promise<Fleet> {
  const subnet = 600 + ++sequence;
  const group = `heal-${sequence}`;
  const endpoints = await registerFleet(t.deps, { count, nodes, group, subnet });
  return { group, subnet, endpoints, nodeOf: (endpoint) => `node-${subnet}-${endpoints.indexOf(endpoint) % nodes}` };
}

/** A load balancer's confirmed pair, and a watcher of it that replaces lost servers. */
async function loadBalancer(f: Fleet, client: InventoryApiClient = new CountingClient({ baseUrl: api.url, apiKey: KEYS.loadBalancer })) {
  const claimed = await claimServersForLoadBalancer({ api: client, podUid: `lb-${f.group}`, count: 2, region: 'us-west', group: f.group, deadlineMs: 5000, backoff: { baseMs: 20, maxMs: 100 } });
  if (!claimed.ok) throw new Error(claimed.reason);
  let now = Date.now();
  const changes: string[][] = [];
  const replaced: Array<[string, string]> = [];
  const logger = recordingLogger();
  const allLost: GameServer[][] = [];
  const watcher = new ClaimWatcher({
    api: client,
    claimId: claimed.claimId,
    servers: claimed.servers,
    intervalMs: 60_000,
    onChange: async (usable) => void changes.push(usable.map((s) => s.endpoint)),
    onAllLost: (lost) => void allLost.push(lost),
    replaceLost: {
      request: { region: 'us-west', group: f.group },
      backoff: { baseMs: 1000, maxMs: 8000 },
      random: () => 0.5,
      onReplaced: (lost, replacement) => void replaced.push([lost.endpoint, replacement]),
    },
    logger,
    clock: () => now,
  });
  return {
    claimId: claimed.claimId,
    servers: claimed.servers.map((s) => s.endpoint) as [string, string],
    watcher,
    changes,
    replaced,
    allLost,
    logger,
    advance: (ms: number) => void (now += ms),
  };
}

const drainNode = (node: string) => applyNodeEvent(t.deps, nodeEvent({ node, event: 'draining', reason: 'spot-interruption', sentAt: Date.now(), seq: ++sequence }));

/** The claim record and the game-server records agree with what the watcher last reported. */
async function assertClaimHolds(claimId: string, endpoints: string[]) {
  const record = (await getClaim(t.deps, claimId))!;
  expect(record.endpoints).toEqual(endpoints);
  const servers = await getGameServers(t.deps, endpoints);
  for (const endpoint of endpoints) expect(servers.get(endpoint)).toMatchObject({ status: 'busy', claimId, claimAttempt: record.attemptId });
}

describe('the claim watcher replaces lost upstreams', () => {
  it('replaces a server whose node drained at the next look, with one change of upstreams: the replacement in its place', async () => {
    const f = await fleet(6, 3);
    const lb = await loadBalancer(f);
    await lb.watcher.check();
    expect(lb.changes).toEqual([]);
    const [lost, kept] = lb.servers;
    await drainNode(f.nodeOf(lost));
    await lb.watcher.check();
    expect(lb.replaced).toHaveLength(1);
    const [[replacedLost, replacement]] = lb.replaced as [[string, string]];
    expect(replacedLost).toBe(lost);
    expect(f.nodeOf(replacement)).not.toBe(f.nodeOf(kept));
    expect(f.nodeOf(replacement)).not.toBe(f.nodeOf(lost));
    expect(lb.changes).toEqual([[replacement, kept]]);
    await assertClaimHolds(lb.claimId, [replacement, kept]);
    expect(await getGameServer(t.deps, lost)).toMatchObject({ status: 'draining' });
    // Nothing more to do at the next look.
    await lb.watcher.check();
    expect([lb.changes.length, lb.replaced.length]).toEqual([1, 1]);
  });

  it('with none available: drops the lost server at once, asks again only after its backoff, and replaces it once a server comes', async () => {
    const f = await fleet(2, 2);
    const client = new CountingClient({ baseUrl: api.url, apiKey: KEYS.loadBalancer });
    const lb = await loadBalancer(f, client);
    const [lost, kept] = lb.servers;
    await drainNode(f.nodeOf(lost));
    await lb.watcher.check();
    expect(client.replaces).toEqual([lost]);
    expect(lb.changes).toEqual([[kept]]);
    expect(lb.logger.lines.filter((l) => l.message === 'claimed server not replaced yet').map((l) => [l.fields.status, l.fields.code, l.fields.retryInMs])).toEqual([
      [409, 'gs.none_available', 2000],
    ]);

    // Within the backoff (the API asked for Retry-After: 2 s): no new request.
    lb.advance(1999);
    await lb.watcher.check();
    expect(client.replaces).toEqual([lost]);

    // A server comes up on a third node; past the backoff the next look replaces the lost one.
    const fresh = `10.${f.subnet >> 8}.${f.subnet & 255}.200:7777`;
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint: fresh, podUid: `pod-${fresh}`, node: `node-${f.subnet}-new`, group: f.group, sentAt: Date.now() }));
    lb.advance(1);
    await lb.watcher.check();
    expect(client.replaces).toEqual([lost, lost]);
    expect(lb.replaced).toEqual([[lost, fresh]]);
    expect(lb.changes).toEqual([[kept], [fresh, kept]]);
    await assertClaimHolds(lb.claimId, [fresh, kept]);
    expect(lb.allLost).toEqual([]);
  });

  it('backs off on 503 and on no answer at all, never throws from a look, and replaces once the API answers again', async () => {
    const f = await fleet(6, 3);
    const gate = await replaceGate(api.url);
    try {
      const client = new CountingClient({ baseUrl: gate.url, apiKey: KEYS.loadBalancer, timeoutMs: 2000 });
      const lb = await loadBalancer(f, client);
      const [lost, kept] = lb.servers;
      await drainNode(f.nodeOf(lost));

      gate.mode = 'unavailable';
      await lb.watcher.check();
      gate.mode = 'reset';
      lb.advance(8000);
      await lb.watcher.check();
      expect(client.replaces).toEqual([lost, lost]);
      expect(lb.changes).toEqual([[kept]]);
      expect(lb.logger.lines.filter((l) => l.message === 'claimed server not replaced yet').map((l) => [l.level, l.fields.status, l.fields.code])).toEqual([
        ['info', 503, 'service.unavailable'],
        ['info', 0, 'network'],
      ]);
      // Backoff: the first wait is the 503's Retry-After (1 s, above its draw of 0.5 s), the second its draw (half of 2 s).
      expect(lb.logger.lines.filter((l) => l.message === 'claimed server not replaced yet').map((l) => l.fields.retryInMs)).toEqual([1000, 1000]);

      // The claim itself cannot be read: logged, nothing else happens.
      gate.mode = 'all-down';
      lb.advance(8000);
      await lb.watcher.check();
      expect(lb.logger.lines.at(-1)).toMatchObject({ level: 'warn', message: 'claim not readable', fields: { status: 503 } });
      expect(client.replaces).toHaveLength(2);

      gate.mode = 'pass';
      await lb.watcher.check();
      expect(client.replaces).toHaveLength(3);
      const replacement = lb.replaced[0]![1];
      expect(lb.changes).toEqual([[kept], [replacement, kept]]);
      await assertClaimHolds(lb.claimId, [replacement, kept]);
    } finally {
      await gate.close();
    }
  });

  it('when every server is lost and none can replace them, it reports all lost (the command exits and its restart claims anew)', async () => {
    const f = await fleet(2, 2);
    const lb = await loadBalancer(f);
    for (const endpoint of lb.servers) await drainNode(f.nodeOf(endpoint));
    await lb.watcher.check();
    expect(lb.allLost.map((lost) => lost.map((s) => s.endpoint))).toEqual([lb.servers]);
    expect(lb.changes).toEqual([]);
  });
});

describe('lb-bootstrap --replace-lost', () => {
  it('is on by default; --no-replace-lost or REPLACE_LOST=false turns it off; the watch polls every 2 s unless told otherwise', () => {
    const flag = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseCommandLine(LB_BOOTSTRAP_OPTIONS, argv, env).flag('replace-lost');
    expect(flag([])).toBe(true);
    expect(flag(['--replace-lost'], { REPLACE_LOST: 'false' })).toBe(true);
    expect(flag(['--no-replace-lost'])).toBe(false);
    expect(flag([], { REPLACE_LOST: 'false' })).toBe(false);
    expect(flag([], { REPLACE_LOST: '0' })).toBe(false);
    expect(flag([], { REPLACE_LOST: 'TRUE' })).toBe(true);
    expect(() => flag([], { REPLACE_LOST: 'perhaps' })).toThrow(new UsageError('REPLACE_LOST must be true or false'));
    expect(parseCommandLine(LB_BOOTSTRAP_OPTIONS, [], {}).value('watch-interval-ms')).toBe('2000');
    expect(parseCommandLine(LB_BOOTSTRAP_OPTIONS, [], { WATCH_INTERVAL_MS: '500' }).value('watch-interval-ms')).toBe('500');
  });

  /** The sidecar's command line (flags instead of env), without nginx: no pid file, nothing to reload. */
  const lbArgs = (f: Fleet, podUid: string, config: string, extra: string[] = []) => [
    '--api-url', api.url,
    '--api-key', KEYS.loadBalancer,
    '--region', 'us-west',
    '--group', f.group,
    '--listen', '127.0.0.1:7999',
    '--endpoint', '127.0.0.1:7999',
    '--config', config,
    '--pod-uid', podUid,
    '--node', 'node-lb',
    '--watch-interval-ms', '100',
    '--deadline-seconds', '20',
    '--queue-url', t.stack.statusQueueUrl,
    '--sqs-endpoint', t.endpoints.sqs,
    '--log-level', 'info',
    ...extra,
  ];

  it('the command replaces a drained upstream and rewrites its config with the claim\'s servers', async () => {
    const f = await fleet(6, 3);
    const config = join(dir, 'heal.conf');
    const lb = startScript('lb-bootstrap', 'clients/cli/lb-bootstrap.ts', lbArgs(f, 'heal-cmd', config));
    processes.push(lb);
    await lb.waitFor(/"message":"event sent","event":"ready"/);
    const claimId = 'lb-heal-cmd';
    const [lost, kept] = (await getClaim(t.deps, claimId))!.endpoints as [string, string];
    await drainNode(f.nodeOf(lost));
    const line = await lb.waitFor(/^replaced /);
    const replacement = /^replaced (\S+) with (\S+)$/.exec(line)!;
    expect(replacement[1]).toBe(lost);
    await lb.waitFor(new RegExp(`^upstreams now ${replacement[2]!.replaceAll('.', '\\.')} ${kept.replaceAll('.', '\\.')}$`));
    const written = await readFile(config, 'utf8');
    expect(written).toContain(`server ${replacement[2]} `);
    expect(written).toContain(`server ${kept} `);
    expect(written).not.toContain(lost);
    await assertClaimHolds(claimId, [replacement[2]!, kept]);
    expect(await lb.stop()).toEqual({ code: 0, signal: null });
  });

  it('with --no-replace-lost the command only drops the lost upstream and asks for no replacement', async () => {
    const f = await fleet(6, 3);
    const config = join(dir, 'drop.conf');
    const lb = startScript('lb-bootstrap', 'clients/cli/lb-bootstrap.ts', lbArgs(f, 'heal-off', config, ['--no-replace-lost']));
    processes.push(lb);
    await lb.waitFor(/"message":"event sent","event":"ready"/);
    const claimId = 'lb-heal-off';
    const [lost, kept] = (await getClaim(t.deps, claimId))!.endpoints as [string, string];
    await drainNode(f.nodeOf(lost));
    await lb.waitFor(new RegExp(`^upstreams now ${kept.replaceAll('.', '\\.')}$`));
    expect(lb.output()).not.toMatch(/^replaced /m);
    expect((await getClaim(t.deps, claimId))!).toMatchObject({ endpoints: [lost, kept] });
    expect((await getClaim(t.deps, claimId))!.replaced).toBeUndefined();
    expect(await lb.stop()).toEqual({ code: 0, signal: null });
  });
});

/**
 * An HTTP proxy in front of the API whose replace requests answer as `mode` says: `unavailable`
 * (503 service.unavailable, as the API answers when DynamoDB fails), `reset` (the connection is
 * destroyed: no answer), `all-down` (every request 503), or `pass`.
 */
async function replaceGate(target: string): Promise<{ url: string; mode: 'pass' | 'unavailable' | 'reset' | 'all-down'; close(): Promise<void> }> {
  const upstream = new URL(target);
  const gate = {
    url: '',
    mode: 'pass' as 'pass' | 'unavailable' | 'reset' | 'all-down',
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const isReplace = req.method === 'POST' && /\/replace$/.test(req.url ?? '');
    if (gate.mode === 'all-down' || (isReplace && gate.mode === 'unavailable')) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ error: { code: 'service.unavailable', message: 'retry' } }));
      return;
    }
    if (isReplace && gate.mode === 'reset') {
      req.resume();
      req.socket.destroy();
      return;
    }
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gate.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return gate;
}
