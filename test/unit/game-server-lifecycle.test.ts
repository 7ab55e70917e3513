import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { poolPosition } from '../../lib/game-servers/availability-keys';
import { decideGameServerWrite, type LifecycleSettings } from '../../lib/game-servers/lifecycle';
import { NEVER, type GameServerItem } from '../../schemas/items';
import type { GameServerLifecycleEvent } from '../../lib/pods/events';
import { T0, gsEvent } from '../fixtures/events';
import { historyWithDelivery } from '../fixtures/event-sequences';

const settings: LifecycleSettings = { heartbeatTimeoutMs: 30_000, retentionMs: 86_400_000, availabilityShards: 4 };
const NOW = T0 + 1_000_000;

function apply(stored: GameServerItem | undefined, event: GameServerLifecycleEvent): GameServerItem | undefined {
  const decision = decideGameServerWrite(stored, event, NOW, settings);
  return decision.kind === 'write' ? decision.item : stored;
}

function fold(events: GameServerLifecycleEvent[]): GameServerItem | undefined {
  return events.reduce<GameServerItem | undefined>(apply, undefined);
}

/** The state a client can observe; version/updatedAt/TTL record how we got there. */
function observable(item: GameServerItem | undefined) {
  if (!item) return undefined;
  const { version: _v, updatedAt: _u, expiresAt: _e, ...rest } = item;
  return rest;
}

function claimed(item: GameServerItem, status: 'claimed' | 'busy' = 'claimed'): GameServerItem {
  return { ...item, status, claimId: 'c-1', claimedAt: NOW, leaseExpiresAt: NOW + 60_000, availableAt: status === 'busy' ? NEVER : NOW + 60_000 };
}

describe('decideGameServerWrite', () => {
  it('registers a new pod as available, claimable at once, fresh for the heartbeat timeout', () => {
    const item = fold([gsEvent({ sentAt: T0, players: 3, labels: { map: 'dust' } })])!;
    expect(item).toMatchObject({
      endpoint: '10.0.0.1:7777',
      status: 'available',
      phase: 'active',
      availableAt: poolPosition('10.0.0.1:7777', 'pod-1'),
      lastHeartbeatAt: T0,
      freshUntil: T0 + 30_000,
      players: 3,
      labels: { map: 'dust' },
      version: 1,
    });
    expect(item.availRegion).toMatch(/^us-west#[0-3]$/);
    expect(item.availGroup).toBe(`us-west#grp1#${item.availRegion.split('#')[1]}`);
  });

  it('a heartbeat refreshes liveness and stats but keeps a claim', () => {
    const registered = claimed(fold([gsEvent()])!);
    const next = apply(registered, gsEvent({ event: 'heartbeat', seq: 2, sentAt: T0 + 10_000, players: 7 }))!;
    expect(next).toMatchObject({ status: 'claimed', claimId: 'c-1', leaseExpiresAt: NOW + 60_000, players: 7, lastHeartbeatAt: T0 + 10_000, freshUntil: T0 + 40_000 });
  });

  it('a duplicated or newer ready from the same pod never undoes busy', () => {
    const busy = claimed(fold([gsEvent()])!, 'busy');
    expect(decideGameServerWrite(busy, gsEvent(), NOW, settings)).toEqual({ kind: 'ignore', reason: 'duplicate-or-older' });
    expect(apply(busy, gsEvent({ seq: 2, sentAt: T0 + 1 }))).toMatchObject({ status: 'busy', availableAt: NEVER, claimId: 'c-1' });
  });

  it('draining takes the server out of the pool but keeps the claim visible', () => {
    const drained = apply(claimed(fold([gsEvent()])!), gsEvent({ event: 'draining', seq: 2, sentAt: T0 + 1 }))!;
    expect(drained).toMatchObject({ status: 'draining', phase: 'draining', availableAt: NEVER, claimId: 'c-1' });
  });

  it('a late ready never resurrects a draining server, nor a newer one from the same pod', () => {
    const drained = fold([gsEvent({ event: 'draining', seq: 2, sentAt: T0 + 2 })]);
    expect(decideGameServerWrite(drained, gsEvent({ seq: 1 }), NOW, settings).kind).toBe('ignore');
    expect(apply(drained, gsEvent({ event: 'heartbeat', seq: 3, sentAt: T0 + 3 }))).toMatchObject({ status: 'draining', lastHeartbeatAt: T0 + 3 });
  });

  it('terminating ends the pod with a tombstone that a late ready cannot bring back', () => {
    const ended = fold([gsEvent(), gsEvent({ event: 'terminating', seq: 2, sentAt: T0 + 5 })])!;
    expect(ended).toMatchObject({ status: 'terminated', availableAt: NEVER, expiresAt: Math.ceil((NOW + 86_400_000) / 1000) });
    expect(decideGameServerWrite(ended, gsEvent({ seq: 1 }), NOW, settings).kind).toBe('ignore');
  });

  it('an older draining event that arrives after a newer heartbeat still drains (phases only move forward)', () => {
    const current = fold([gsEvent({ event: 'heartbeat', seq: 3, sentAt: T0 + 3, players: 5 })])!;
    const next = apply(current, gsEvent({ event: 'draining', seq: 2, sentAt: T0 + 2, players: 1 }))!;
    expect(next).toMatchObject({ status: 'draining', seq: 3, players: 5 });
  });

  it('an event from an older pod never touches the record of a newer pod on the same endpoint', () => {
    const newer = fold([gsEvent({ podUid: 'pod-new', sentAt: T0 + 100 })])!;
    expect(decideGameServerWrite(newer, gsEvent({ podUid: 'pod-old', event: 'terminating', seq: 9, sentAt: T0 + 50 }), NOW, settings)).toEqual({
      kind: 'ignore',
      reason: 'older-pod',
    });
  });

  it('a newer pod started after the claim on a terminated endpoint starts a fresh, unclaimed record', () => {
    const ended = claimed({ ...fold([gsEvent({ event: 'terminated', sentAt: T0 })])! });
    const fresh = apply(ended, gsEvent({ podUid: 'pod-2', node: 'node-b', sentAt: NOW + 10 }))!;
    expect(fresh).toMatchObject({ status: 'available', podUid: 'pod-2', node: 'node-b', availableAt: poolPosition('10.0.0.1:7777', 'pod-2') });
    expect(fresh.claimId).toBeUndefined();
    expect(fresh.leaseExpiresAt).toBeUndefined();
  });

  it('a newer pod whose ready was sent before the claim takes the claim over, whichever of it and the old pod\'s terminating lands first', () => {
    // The claim (at NOW) was made on the old pod's record while both events were still in flight.
    const stored = claimed(fold([gsEvent({ podUid: 'pod-1', sentAt: T0 })])!);
    const terminating = gsEvent({ podUid: 'pod-1', event: 'terminating', seq: 2, sentAt: T0 + 10 });
    const ready = gsEvent({ podUid: 'pod-2', node: 'node-b', sentAt: T0 + 20 });
    const terminatingFirst = apply(apply(stored, terminating), ready)!;
    const readyFirst = apply(apply(stored, ready), terminating)!;
    expect(observable(terminatingFirst)).toEqual(observable(readyFirst));
    expect(terminatingFirst).toMatchObject({ podUid: 'pod-2', node: 'node-b', phase: 'active', status: 'claimed', claimId: 'c-1', availableAt: NOW + 60_000 });
    // Its later heartbeats keep the claim; a restart after the claim drops it.
    expect(apply(terminatingFirst, gsEvent({ podUid: 'pod-2', node: 'node-b', event: 'heartbeat', seq: 2, sentAt: NOW + 5 }))).toMatchObject({ status: 'claimed', claimId: 'c-1' });
    expect(apply(terminatingFirst, gsEvent({ podUid: 'pod-3', node: 'node-b', sentAt: NOW + 5 }))!.claimId).toBeUndefined();
  });

  it('a newer pod whose heartbeat, sent after the claim, lands before its ready keeps the claim: it may have started before it', () => {
    // The claim (at NOW) was made on pod-1's record; pod-2 started at T0 + 20, but its ready and
    // first heartbeats are still in flight when its fourth heartbeat (sent after the claim) lands.
    const stored = claimed(fold([gsEvent({ podUid: 'pod-1', sentAt: T0 })])!);
    const heartbeat = gsEvent({ podUid: 'pod-2', node: 'node-b', event: 'heartbeat', seq: 4, sentAt: NOW + 5 });
    const adopted = apply(stored, heartbeat)!;
    expect(adopted).toMatchObject({ podUid: 'pod-2', seq: 4, phase: 'active', status: 'claimed', claimId: 'c-1', availableAt: NOW + 60_000 });
    // Its ready, sent before the claim, lands later: older than seq 4, nothing changes.
    expect(decideGameServerWrite(adopted, gsEvent({ podUid: 'pod-2', node: 'node-b', sentAt: T0 + 20 }), NOW, settings)).toEqual({ kind: 'ignore', reason: 'duplicate-or-older' });
    // A ready sent after the claim is a pod that started after it: the claim goes with the old pod.
    const restarted = apply(adopted, gsEvent({ podUid: 'pod-3', node: 'node-b', sentAt: NOW + 6 }))!;
    expect(restarted).toMatchObject({ podUid: 'pod-3', status: 'available', availableAt: poolPosition('10.0.0.1:7777', 'pod-3') });
    expect(restarted.claimId).toBeUndefined();
  });

  it('a busy server taken over by a pod that predates the claim stays busy until its hold runs out', () => {
    const stored = { ...claimed(fold([gsEvent({ podUid: 'pod-1', sentAt: T0 })])!, 'busy'), holdExpiresAt: NOW + 3_600_000, availableAt: NOW + 3_600_000 };
    delete (stored as Partial<GameServerItem>).leaseExpiresAt;
    const adopted = apply(stored, gsEvent({ podUid: 'pod-2', sentAt: T0 + 20 }))!;
    expect(adopted).toMatchObject({ podUid: 'pod-2', status: 'busy', claimId: 'c-1', availableAt: NOW + 3_600_000, holdExpiresAt: NOW + 3_600_000 });
  });

  it('legacy pods, which never heartbeat, stay fresh and are kept (no TTL) until they terminate', () => {
    const live = fold([gsEvent({ source: 'legacy' })])!;
    expect(live.freshUntil).toBe(NEVER);
    expect(live.expiresAt).toBeUndefined();
    const ended = fold([gsEvent({ source: 'legacy' }), gsEvent({ source: 'legacy', podUid: 'legacy-2', event: 'terminating', sentAt: T0 + 1 })])!;
    expect(ended).toMatchObject({ status: 'terminated', expiresAt: Math.ceil((NOW + 86_400_000) / 1000) });
  });

  it('a v1 pod\'s record expires (TTL) a retention period after its last heartbeat', () => {
    expect(fold([gsEvent({ sentAt: T0 })])!.expiresAt).toBe(Math.ceil((T0 + 86_400_000) / 1000));
  });

  it('caps a heartbeat from a pod whose clock runs ahead at the current time', () => {
    expect(fold([gsEvent({ sentAt: NOW + 3_600_000 })])!.lastHeartbeatAt).toBe(NOW);
  });

  it('any reordering and duplication of an endpoint\'s events ends in the state of the in-order history', () => {
    fc.assert(
      fc.property(historyWithDelivery(), ({ events, delivery }) => {
        expect(observable(fold(delivery))).toEqual(observable(fold(events)));
      }),
      { numRuns: 2000 },
    );
  });

  it('the final state is the newest event\'s description with the latest phase reached by its pod', () => {
    fc.assert(
      fc.property(historyWithDelivery(), ({ events, delivery }) => {
        const final = fold(delivery)!;
        const newest = events[events.length - 1]!;
        const podEvents = events.filter((e) => e.podUid === newest.podUid);
        const rank = { ready: 0, heartbeat: 0, draining: 1, terminating: 2, terminated: 2 };
        const latest = Math.max(...podEvents.map((e) => rank[e.event]));
        expect(final.podUid).toBe(newest.podUid);
        expect(final.seq).toBe(newest.seq);
        expect(final.players).toBe(newest.players);
        expect(final.status).toBe(['available', 'draining', 'terminated'][latest]);
      }),
      { numRuns: 1000 },
    );
  });
});
