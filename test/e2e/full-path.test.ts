import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryApiClient } from '../../clients/lib';
import { getLoadBalancer } from '../../lib/load-balancers/repo';
import { freePort } from '../../scripts/local/services';
import { startLocalStack, type LocalStack } from '../../scripts/local/stack';
import { childPids, locateNginx, startNginx, startScript, workersReplaced, type Started } from './processes';
import { udpRoundTrip } from './udp';

/**
 * The whole path with real processes: the local stack (DynamoDB Local, local SQS, the HTTP API,
 * the poller), two UDP echo "game servers" each wrapped by gs-agent, lb-bootstrap claiming them
 * and writing the nginx config, and a real nginx proxying UDP to them on 127.0.0.1.
 */

let stack: LocalStack;
let dir: string;
let reader: InventoryApiClient;
const processes: Started[] = [];

const sqsArgs = () => ['--queue-url', stack.stack.statusQueueUrl, '--sqs-endpoint', stack.services.sqsEndpoint, '--log-level', 'info'];

/** Polls until `check` returns a value (the poller and the API are asynchronous to the test). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, attempts = 200): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const statusOf = async (endpoint: string) => {
  const result = await reader.getGameServer(endpoint);
  return result.ok ? result.body.status : undefined;
};

beforeAll(async () => {
  locateNginx(); // fails here, with the install command, when nginx cannot run
  dir = await mkdtemp(join(tmpdir(), 'gs-inventory-e2e-'));
  stack = await startLocalStack({ port: 0, dynamodbPort: await freePort(), sqsPort: await freePort(), stage: 'e2e', logLevel: 'ERROR' });
  reader = new InventoryApiClient({ baseUrl: stack.apiUrl, apiKey: 'ro-local-key' });
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('game servers, load balancer and nginx end to end', () => {
  it('proxies UDP through nginx to the claimed servers and keeps forwarding to the survivor when one is stopped', async () => {
    const [portA, portB, lbPort] = [await freePort(), await freePort(), await freePort()];
    const servers = [
      { name: 'gs-a', port: portA, node: 'e2e-node-a' },
      { name: 'gs-b', port: portB, node: 'e2e-node-b' },
    ];
    const agents = servers.map(({ name, port, node }) => {
      const agent = startScript(name, 'clients/cli/gs-agent.ts', [
        '--endpoint', `127.0.0.1:${port}`,
        '--region', 'us-west',
        '--group', 'e2e',
        '--label', 'map=dust',
        '--node', node,
        '--pod-uid', `${name}-uid`,
        '--heartbeat-seconds', '1',
        '--grace-seconds', '2',
        '--imds', 'off',
        ...sqsArgs(),
        '--', process.execPath, 'test/e2e/udp-echo.mjs', String(port), name,
      ]);
      processes.push(agent);
      return agent;
    });
    const [agentA, agentB] = agents as [Started, Started];
    for (const { port } of servers) await eventually(`127.0.0.1:${port} available`, async () => ((await statusOf(`127.0.0.1:${port}`)) === 'available' ? true : undefined));

    const streamConfig = join(dir, 'stream.conf');
    const nginxPid = join(dir, 'nginx.pid');
    const lb = startScript('lb-bootstrap', 'clients/cli/lb-bootstrap.ts', [
      '--api-url', stack.apiUrl,
      '--api-key', 'lb-local-key',
      '--region', 'us-west',
      '--group', 'e2e',
      '--label', 'map=dust',
      '--listen', `127.0.0.1:${lbPort}`,
      '--config', streamConfig,
      '--proxy-timeout', '2s',
      '--pod-uid', 'lb-e2e-uid',
      '--node', 'e2e-node-lb',
      '--endpoint', `127.0.0.1:${lbPort}`,
      '--heartbeat-seconds', '1',
      '--watch-seconds', '0.2',
      '--nginx-pid-file', nginxPid,
      '--deadline-seconds', '20',
      '--retry-base-ms', '200',
      ...sqsArgs(),
    ]);
    processes.push(lb);
    await lb.waitFor(/^claimed /);
    const config = await readFile(streamConfig, 'utf8');
    expect(config).toContain(`listen 127.0.0.1:${lbPort} udp;`);
    expect(config).toContain(`server 127.0.0.1:${portA} max_fails=1 fail_timeout=10s;`);
    expect(config).toContain(`server 127.0.0.1:${portB} max_fails=1 fail_timeout=10s;`);
    expect(await statusOf(`127.0.0.1:${portA}`)).toBe('busy');
    expect(await statusOf(`127.0.0.1:${portB}`)).toBe('busy');

    const nginx = await startNginx(dir, streamConfig);
    processes.push(nginx);
    // nginx is up once a datagram comes back through it.
    await eventually('nginx forwarding', () => udpRoundTrip(lbPort, 'hello', 300));
    const firstWorkers = await childPids(nginx.child.pid!);
    expect(firstWorkers).toHaveLength(1);
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await udpRoundTrip(lbPort, `ping-${i}`));
    expect(answers.filter((a) => a?.startsWith('gs-a:ping-')).length).toBeGreaterThan(0);
    expect(answers.filter((a) => a?.startsWith('gs-b:ping-')).length).toBeGreaterThan(0);
    expect(answers.every((a, i) => a === `gs-a:ping-${i}` || a === `gs-b:ping-${i}`)).toBe(true);

    // The load balancer reported itself with its targets.
    const lbRecord = await eventually('load balancer record', () => getLoadBalancer(stack.deps, `127.0.0.1:${lbPort}`));
    expect(lbRecord).toMatchObject({ status: 'active', targets: [`127.0.0.1:${portA}`, `127.0.0.1:${portB}`].sort((x, y) => config.indexOf(x) - config.indexOf(y)) });

    // SIGTERM to game server A: its record goes terminated at once, the game keeps running for
    // the grace period, the load balancer takes it out of nginx, and the agent exits cleanly.
    process.kill(agentA.child.pid!, 'SIGTERM');
    await eventually('gs-a terminated', async () => ((await statusOf(`127.0.0.1:${portA}`)) === 'terminated' ? true : undefined));
    await lb.waitFor(new RegExp(`^upstreams now 127\\.0\\.0\\.1:${portB}$`));
    expect(await readFile(streamConfig, 'utf8')).not.toContain(`127.0.0.1:${portA}`);
    expect(await agentA.exited).toEqual({ code: 0, signal: null });
    expect(agentA.output()).toMatch(/"message":"event sent","event":"terminating"/);

    // nginx reloaded: its old worker, which still routed to A, is gone; every new session is
    // answered by B (A's process is gone by now).
    await eventually('the old nginx worker gone', async () => ((await workersReplaced(nginx.child.pid!, firstWorkers)) ? true : undefined));
    const after = [];
    for (let i = 0; i < 10; i++) after.push(await udpRoundTrip(lbPort, `after-${i}`));
    expect(after).toEqual(Array.from({ length: 10 }, (_, i) => `gs-b:after-${i}`));
    // ...and reported its new targets (the poller applies the heartbeat that carries them).
    await eventually('load balancer targets updated', async () => ((await getLoadBalancer(stack.deps, `127.0.0.1:${lbPort}`))?.targets.length === 1 ? true : undefined));
    expect((await getLoadBalancer(stack.deps, `127.0.0.1:${lbPort}`))?.targets).toEqual([`127.0.0.1:${portB}`]);

    // The load balancer leaves: terminating, its claim released, B back in the pool.
    expect(await lb.stop()).toEqual({ code: 0, signal: null });
    const claim = await new InventoryApiClient({ baseUrl: stack.apiUrl, apiKey: 'admin-local-key' }).getClaim('lb-lb-e2e-uid');
    expect(claim.ok && claim.body.status).toBe('released');
    expect(await statusOf(`127.0.0.1:${portB}`)).toBe('available');
    await eventually('load balancer terminated', async () => ((await getLoadBalancer(stack.deps, `127.0.0.1:${lbPort}`))?.status === 'terminated' ? true : undefined));

    expect(await agentB.stop()).toEqual({ code: 0, signal: null });
    await eventually('gs-b terminated', async () => ((await statusOf(`127.0.0.1:${portB}`)) === 'terminated' ? true : undefined));
    expect(await nginx.stop('SIGQUIT')).toMatchObject({ code: 0 });
  });
});
