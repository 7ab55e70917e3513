import { describe, expect, it } from 'vitest';
import { FunctionInstances } from '../../scripts/local/function-instances';

/** A function whose requests finish only when the test says so, recording which instance served each. */
function gatedFunction() {
  const gates: Array<() => void> = [];
  const servedBy: number[] = [];
  let maxInFlightPerInstance = 0;
  let made = 0;
  const coldStart = () => {
    const id = ++made;
    let inFlight = 0;
    return async (request: number, _context: unknown) => {
      inFlight++;
      maxInFlightPerInstance = Math.max(maxInFlightPerInstance, inFlight);
      servedBy[request] = id;
      await new Promise<void>((resolve) => gates.push(resolve));
      inFlight--;
      return `answer ${request}`;
    };
  };
  const openAll = async () => {
    while (gates.length) {
      gates.splice(0).forEach((open) => open());
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { coldStart, gates, servedBy, openAll, maxInFlight: () => maxInFlightPerInstance };
}

describe('FunctionInstances (the local server runs functions as Lambda does)', () => {
  it('makes a new instance for each request that arrives while every instance is busy', async () => {
    const fn = gatedFunction();
    const instances = new FunctionInstances(fn.coldStart, 10);
    const answers = Promise.all([0, 1, 2, 3, 4].map((request) => instances.invoke(request, {})));
    await new Promise((resolve) => setImmediate(resolve));
    expect(instances.stats()).toMatchObject({ created: 5, busy: 5, idle: 0, waiting: 0 });
    await fn.openAll();
    expect(await answers).toEqual(['answer 0', 'answer 1', 'answer 2', 'answer 3', 'answer 4']);
    expect(new Set(fn.servedBy).size).toBe(5);
    expect(instances.stats()).toMatchObject({ created: 5, busy: 0, idle: 5 });
  });

  it('reuses an idle instance, the most recently used first, instead of a cold start', async () => {
    const fn = gatedFunction();
    const instances = new FunctionInstances(fn.coldStart, 10);
    const first = Promise.all([instances.invoke(0, {}), instances.invoke(1, {})]);
    await fn.openAll();
    await first;
    for (const request of [2, 3, 4]) {
      const answer = instances.invoke(request, {});
      await fn.openAll();
      await answer;
    }
    expect(instances.stats().created).toBe(2);
    expect(fn.servedBy.slice(2)).toEqual([fn.servedBy[1], fn.servedBy[1], fn.servedBy[1]]);
  });

  it('at the limit, queues requests for the next free instance: none refused, no instance serves two at once', async () => {
    const fn = gatedFunction();
    const instances = new FunctionInstances(fn.coldStart, 2);
    const answers = Promise.all([0, 1, 2, 3, 4, 5].map((request) => instances.invoke(request, {})));
    await new Promise((resolve) => setImmediate(resolve));
    expect(instances.stats()).toMatchObject({ created: 2, busy: 2, waiting: 4 });
    await fn.openAll();
    expect(await answers).toHaveLength(6);
    expect(fn.maxInFlight()).toBe(1);
    expect(instances.stats()).toMatchObject({ created: 2, busy: 0, idle: 2, waiting: 0 });
  });

  it('frees the instance of a request that failed, and counts no instance for a cold start that failed', async () => {
    let failColdStart = true;
    const instances = new FunctionInstances(() => {
      if (failColdStart) throw new Error('module initialisation failed');
      return async (request: number) => {
        if (request === 0) throw new Error('handler failed');
        return 'ok';
      };
    }, 1);
    await expect(instances.invoke(0, {})).rejects.toThrow('module initialisation failed');
    expect(instances.stats().created).toBe(0);
    failColdStart = false;
    await expect(instances.invoke(0, {})).rejects.toThrow('handler failed');
    expect(await instances.invoke(1, {})).toBe('ok');
    expect(instances.stats()).toMatchObject({ created: 1, busy: 0, idle: 1 });
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new FunctionInstances(() => async () => 'x', 0)).toThrow('maxInstances must be a positive integer, not 0');
  });
});
