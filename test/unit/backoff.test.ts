import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from '../../lib/backoff';

describe('backoffDelay', () => {
  const policy = { baseMs: 40, maxMs: 200 };
  it('doubles the cap per attempt from baseMs up to maxMs', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, { ...policy, jitter: 'none' }))).toEqual([40, 80, 160, 200, 200]);
  });

  it('full jitter draws from [0, cap); equal jitter from [cap/2, 1.5 cap)', () => {
    expect([0, 0.5, 0.999].map((r) => backoffDelay(3, { ...policy, jitter: 'full' }, () => r))).toEqual([0, 80, 159.84]);
    expect([0, 0.5, 0.75].map((r) => backoffDelay(3, { ...policy, jitter: 'equal' }, () => r))).toEqual([80, 160, 200]);
  });

  it('has no cap without maxMs', () => {
    expect(backoffDelay(11, { baseMs: 5, jitter: 'none' })).toBe(5120);
  });
});

describe('sleep', () => {
  it('yields to the event loop even for a wait of 0 or less, so a polling loop lets timers fire', async () => {
    let done = false;
    setTimeout(() => {
      done = true;
    }, 5);
    let turns = 0;
    // Bounded, so that a sleep that does not yield fails here instead of hanging the worker.
    while (!done && turns < 10_000) {
      await sleep(turns % 2 ? 0 : -10);
      turns++;
    }
    expect(done).toBe(true);
    const order: string[] = [];
    const slept = sleep(0).then(() => order.push('sleep'));
    await Promise.resolve().then(() => order.push('microtask'));
    await slept;
    expect(order).toEqual(['microtask', 'sleep']);
  });
});
