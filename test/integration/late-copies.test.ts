import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolPosition } from '../../lib/game-servers/availability-keys';
import { claimServer, releaseServer, setServerBusy } from '../../lib/game-servers/claim-writes';
import { getGameServer } from '../../lib/game-servers/records';
import { applyLifecycleEvent } from '../../lib/ingestion/apply-lifecycle-event';
import { gsEvent } from '../fixtures/events';
import { registerFleet } from '../fixtures/servers';
import { createTestStack, manualClock, type TestStack } from '../setup/stack';

// Late copies of writes (an SDK retry, a delayed packet) landing after what followed them: the
// conditions, not the callers, keep them from undoing it.
const OWNER = { principal: 'key:matchmaker', admin: false };
const clock = manualClock();
let t: TestStack;

beforeAll(async () => {
  t = await createTestStack({ clock });
});
afterAll(async () => t?.destroy());

describe('late copies after a release (the return time fences them, not availableAt)', () => {
  it('a hold or claim sent before a release and landing after it does nothing, also after a heartbeat', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, group: 'late', subnet: 8 });
    const sent = clock();
    const hold = { endpoint: endpoint!, claimId: 'late-hold', owner: OWNER.principal, now: sent, holdExpiresAt: sent + 3_600_000 };
    expect((await setServerBusy(t.deps, hold)).kind).toBe('busy');
    clock.advance(1000);
    expect(await releaseServer(t.deps, endpoint!, 'late-hold', clock(), { directHold: OWNER })).toBe('released');
    const released = (await getGameServer(t.deps, endpoint!))!;
    expect(released).toMatchObject({ status: 'available', returnedAt: clock(), availableAt: poolPosition(endpoint!, 'late-hold') });

    // A heartbeat rewrites the record; the return time stays.
    clock.advance(500);
    await applyLifecycleEvent(t.deps, gsEvent({ endpoint: endpoint!, podUid: `pod-${endpoint}`, node: 'node-8-0', group: 'late', event: 'heartbeat', seq: 2, sentAt: clock() }));
    expect(await getGameServer(t.deps, endpoint!)).toMatchObject({ status: 'available', returnedAt: released.returnedAt, seq: 2 });

    // The SDK's retry of the hold, and a claim attempt stamped before the release, land now.
    expect((await setServerBusy(t.deps, hold)).kind).toBe('refused');
    const lateClaim = await claimServer(t.deps, { endpoint: endpoint!, claimId: 'late-claim', attemptId: 'a1', owner: OWNER.principal, now: sent + 500, leaseExpiresAt: sent + 60_000, expect: { region: 'us-west', group: 'late' } });
    expect(lateClaim.kind).toBe('refused');
    expect(await getGameServer(t.deps, endpoint!)).toMatchObject({ status: 'available' });

    // Anything sent after the release still takes it.
    expect((await setServerBusy(t.deps, { ...hold, claimId: 'next-hold', now: clock(), holdExpiresAt: clock() + 60_000 })).kind).toBe('busy');
  });
});

describe('late copies of a hold (a repeated set-gs-busy never shortens the hold)', () => {
  it('a late copy of an earlier, shorter hold of the same claim id leaves the longer hold as it is and answers with it; nobody else gets the server', async () => {
    const [endpoint] = await registerFleet(t.deps, { count: 1, group: 'late-hold', subnet: 9 });
    const first = clock();
    // The caller's first try (5 s hold) got no answer; its retry, 4 s later, holds until first + 9 s.
    const retry = { endpoint: endpoint!, claimId: 'hold-1', owner: OWNER.principal, now: first + 4000, holdExpiresAt: first + 9000 };
    expect((await setServerBusy(t.deps, retry)).kind).toBe('busy');
    // The first try's copy lands only now.
    const late = await setServerBusy(t.deps, { ...retry, now: first, holdExpiresAt: first + 5000 });
    expect(late).toMatchObject({ kind: 'busy', item: { claimId: 'hold-1', holdExpiresAt: first + 9000 } });
    expect(await getGameServer(t.deps, endpoint!)).toMatchObject({ status: 'busy', claimId: 'hold-1', holdExpiresAt: first + 9000, availableAt: first + 9000 });
    // Between the two ends, another caller finds the server busy.
    const other = await setServerBusy(t.deps, { endpoint: endpoint!, claimId: 'hold-2', owner: OWNER.principal, now: first + 6000, holdExpiresAt: first + 60_000 });
    expect(other.kind).toBe('refused');
    // Another principal repeating the claim id is refused too, even with a shorter hold.
    expect((await setServerBusy(t.deps, { ...retry, owner: 'key:someone-else', now: first, holdExpiresAt: first + 5000 })).kind).toBe('refused');
  });
});
