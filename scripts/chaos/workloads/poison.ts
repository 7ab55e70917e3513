import type { StatusQueue } from '../status-queue';

/** Malformed status messages of every sort; each carries a nonce so that each body is unique. */
export function poisonBodies(count: number, seed: number): string[] {
  const shapes = [
    (n: string) => `{"v":1,"kind":"game-server","event":"ready","endpoint":"not an endpoint","nonce":"${n}"`, // truncated JSON
    (n: string) => JSON.stringify({ v: 1, kind: 'teapot', event: 'ready', nonce: n }),
    (n: string) => JSON.stringify({ v: 1, kind: 'game-server', event: 'explode', endpoint: '10.99.0.1:7777', region: 'us-west', node: 'n', podUid: n, seq: 1, sentAt: new Date().toISOString() }),
    (n: string) => JSON.stringify({ public_hostname: 'ec2-x', public_port: '9999999', region: 'us-west', status: 'init', type: 'gs', private_ipv4: '192.168.9.9', group: n }),
    (n: string) => JSON.stringify([1, 2, n]),
    (n: string) => `not json, not a python literal either ${n} {{`,
    (n: string) => JSON.stringify({ v: 2, kind: 'game-server', nonce: n }),
    (n: string) => JSON.stringify({ v: 1, kind: 'game-server', event: 'ready', endpoint: '10.99.0.2:7777', region: 'US WEST!', node: 'n', podUid: n, seq: -1, sentAt: 'yesterday' }),
  ];
  return Array.from({ length: count }, (_, i) => shapes[i % shapes.length]!(`poison-${seed}-${i}`));
}

/** Sends the poison messages; they must all end in the dead-letter queue without blocking anything. */
export async function sendPoison(queue: StatusQueue, count: number, seed: number): Promise<void> {
  await queue.send(poisonBodies(count, seed).map((body) => ({ body, format: 'poison', reason: 'poison' })));
}
