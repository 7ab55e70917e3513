import { describe, expect, it } from 'vitest';
import { cachedReadings } from '../../lib/cached-readings';

describe('cachedReadings', () => {
  it('answers a reading again within its age, shares the one in flight, reads again after it, per key', async () => {
    let now = 1_000;
    let reads = 0;
    const readings = cachedReadings<number>(() => now, 2_000);
    const read = async () => ++reads;
    const [a, b] = await Promise.all([readings('k', read), readings('k', read)]);
    expect([a, b]).toEqual([{ at: 1_000, value: 1 }, { at: 1_000, value: 1 }]);
    now = 3_000;
    expect(await readings('k', read)).toEqual({ at: 1_000, value: 1 });
    expect(await readings('other', read)).toEqual({ at: 3_000, value: 2 });
    now = 3_001;
    expect(await readings('k', read)).toEqual({ at: 3_001, value: 3 });
    expect(reads).toBe(3);
  });

  it('keeps no failed reading: the next asker reads again', async () => {
    let fail = true;
    const readings = cachedReadings<string>(() => 0, 10_000);
    const read = async () => {
      if (fail) throw new Error('unreachable');
      return 'ok';
    };
    await expect(readings('k', read)).rejects.toThrow('unreachable');
    fail = false;
    expect(await readings('k', read)).toEqual({ at: 0, value: 'ok' });
  });
});
