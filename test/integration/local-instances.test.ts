import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../../scripts/local/http-server';
import { API_KEYS_ENV, KEYS } from '../fixtures/http';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, type TestStack } from '../setup/stack';

let t: TestStack;
beforeAll(async () => {
  t = await createTestStack({ env: { API_KEYS: API_KEYS_ENV } });
});
afterAll(async () => t?.destroy());

async function claim(url: string, claimId: string, group: string) {
  const response = await fetch(`${url}/claim-gs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.matchmaker}`, 'content-type': 'application/json' },
    body: JSON.stringify({ claimId, region: 'inst', group }),
  });
  return { status: response.status, body: (await response.json()) as { servers?: Array<{ endpoint: string }> } };
}

describe('the local HTTP server runs each function on Lambda-like instances', () => {
  it('serves sequential requests from one warm instance', async () => {
    const server = await startHttpServer(t.deps, { port: 0 });
    try {
      await registerFleet(t.deps, { count: 3, region: 'inst', group: 'seq', subnet: 31 });
      for (const id of ['s-1', 's-2', 's-3']) expect((await claim(server.url, id, 'seq')).status).toBe(200);
      expect(server.instances()['claim-gs']).toMatchObject({ created: 1, busy: 0, idle: 1 });
      expect(server.instances()['get-gs']).toMatchObject({ created: 0 });
    } finally {
      await server.close();
    }
  });

  it('gives 8 concurrent claimers 8 distinct servers of 16, each on an instance of its own while busy', async () => {
    const server = await startHttpServer(t.deps, { port: 0 });
    try {
      const endpoints = await registerFleet(t.deps, { count: 16, region: 'inst', group: 'conc', subnet: 32 });
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => claim(server.url, `c-${i}`, 'conc')));
      expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(200));
      const claimed = answers.flatMap((answer) => answer.body.servers!.map((s) => s.endpoint));
      expect(new Set(claimed).size).toBe(8);
      expect(claimed.every((endpoint) => endpoints.includes(endpoint))).toBe(true);
      // How many instances depends on how the requests overlapped; never more than were in flight.
      const stats = server.instances()['claim-gs']!;
      expect(stats.created).toBeGreaterThanOrEqual(1);
      expect(stats.created).toBeLessThanOrEqual(8);
      expect(stats).toMatchObject({ busy: 0, waiting: 0, idle: stats.created });
    } finally {
      await server.close();
    }
  });

  it('queues requests past the instance limit and answers every one', async () => {
    const server = await startHttpServer(t.deps, { port: 0, maxInstances: 1 });
    try {
      const endpoints = await registerFleet(t.deps, { count: 6, region: 'inst', group: 'limit', subnet: 33 });
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => claim(server.url, `l-${i}`, 'limit')));
      expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(200));
      expect(answers.flatMap((answer) => answer.body.servers!.map((s) => s.endpoint)).sort()).toEqual([...endpoints].sort());
      expect(server.instances()['claim-gs']).toMatchObject({ created: 1, busy: 0, idle: 1, waiting: 0 });
    } finally {
      await server.close();
    }
  });
});
