import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/local/services';
import { startLocalStack, type LocalStack } from '../../scripts/local/stack';
import { runSimulation } from '../../scripts/simulation/fleet';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, dynamodbPort: await freePort(), sqsPort: await freePort(), stage: 'simtest', logLevel: 'ERROR', pollerConcurrency: 4 });
});
afterAll(async () => stack?.stop());

/** A seeded generator, so that the run's choices (which node, when) are the same every time. */
function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('npm run simulate (runSimulation)', () => {
  it('runs a fleet through the agent module: matchmakers claim and release, an interrupted node leaves the pool and is replaced', async () => {
    const lines: string[] = [];
    const summary = await runSimulation({
      apiUrl: stack.apiUrl,
      queueUrl: stack.stack.statusQueueUrl,
      sqsEndpoint: stack.services.sqsEndpoint,
      deps: stack.deps,
      servers: 12,
      nodes: 3,
      matchmakers: 2,
      durationMs: 5000,
      interruptions: 1,
      reclaimMs: 4000,
      // The instance stays until its node left the pool: the test checks that the drain happens,
      // not that it beats a clock (the notice-to-out-of-pool time is a figure the CLI prints).
      drainDeadlineMs: 40_000,
      heartbeatMs: 2000,
      random: seeded(7),
      onProgress: (line) => lines.push(line),
    });
    expect(summary.interruptedNodes).toHaveLength(1);
    expect(summary.offeredWhileDraining).toBe(0);
    expect(summary.drainLatenciesMs).toHaveLength(1);
    expect(summary.serversTerminated).toBe(4);
    expect(summary.serversStarted).toBe(16);
    expect(summary.eventsFailed).toBe(0);
    expect(summary.claims.errors).toBe(0);
    expect(summary.claims.ok).toBeGreaterThan(0);
    expect(summary.claims.released).toBe(summary.claims.ok);
    expect(Object.values(summary.statuses).reduce((a, b) => a + b, 0)).toBe(12);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.at(-1)).toMatch(/^t= +\d+s servers 12 \[available \d+ claimed \d+ busy \d+ draining \d+ terminated \d+\] nodes drained 1 \| claims \d+ ok \d+ none \d+ released \| events \d+ sent 0 failed$/);
  });
});
