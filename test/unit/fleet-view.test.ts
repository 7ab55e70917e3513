import { describe, expect, it } from 'vitest';
import { newestPerEndpoint, toFleetServer, type FleetRecord } from '../../lib/game-servers/fleet';
import { feedEventFor, toFeedEvent } from '../../lib/notifications/feed';
import { claimReference } from '../../lib/ownership';
import { NEVER } from '../../schemas/items';
import type { NotificationEvent } from '../../schemas/events';

const T = Date.parse('2026-11-27T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const OWNER = { principal: 'key:mm-a', admin: false };
const OTHER = { principal: 'key:reader', admin: false };
const ADMIN = { principal: 'key:ops', admin: true };
const record = (fields: Partial<FleetRecord> = {}): FleetRecord => ({
  endpoint: '10.0.0.1:7777',
  region: 'us-west',
  group: 'g1',
  node: 'node-a',
  status: 'available',
  lastHeartbeatAt: T - 1_000,
  freshUntil: T + 29_000,
  version: 3,
  ...fields,
});

describe('fleet view (pure)', () => {
  it('shows a held server\'s claim with its owner to all, its id only to the owner and admins', () => {
    const held = record({ status: 'claimed', claimId: 'match-1', owner: 'key:mm-a', claimedAt: T - 5_000, leaseExpiresAt: T + 55_000 });
    const claim = { ref: claimReference('match-1'), owner: 'key:mm-a', since: iso(T - 5_000), confirmed: false, expiresAt: iso(T + 55_000) };
    expect(toFleetServer(held, T, OWNER).claim).toEqual({ ...claim, id: 'match-1' });
    expect(toFleetServer(held, T, ADMIN).claim).toEqual({ ...claim, id: 'match-1' });
    expect(toFleetServer(held, T, OTHER).claim).toEqual(claim);
    expect(claimReference('match-1')).toMatch(/^c-[0-9a-f]{12}$/);
    expect(claimReference('match-1')).not.toBe(claimReference('match-2'));
  });

  it('shows a run-out lease as available without a claim, a busy hold as confirmed until its end', () => {
    const expired = record({ status: 'claimed', claimId: 'm', owner: 'key:mm-a', claimedAt: T - 70_000, leaseExpiresAt: T - 10_000 });
    expect(toFleetServer(expired, T, OWNER)).toEqual({ endpoint: '10.0.0.1:7777', region: 'us-west', group: 'g1', node: 'node-a', status: 'available', lastHeartbeatAt: iso(T - 1_000) });
    const busy = record({ status: 'busy', claimId: 'm', owner: 'key:mm-a', claimedAt: T - 70_000, holdExpiresAt: T + 600_000 });
    expect(toFleetServer(busy, T, OTHER).claim).toMatchObject({ confirmed: true, expiresAt: iso(T + 600_000) });
  });

  it('tells why a server drains, whether its node is drained, and marks it stale once its heartbeats stop', () => {
    const drained = record({ status: 'draining', nodeDraining: true, nodeDrainReason: 'rebalance-recommendation', lifecycle: 'spot', freshUntil: T - 1 });
    expect(toFleetServer(drained, T, OTHER)).toMatchObject({ status: 'draining', drain: 'rebalance', nodeDrained: true, lifecycle: 'spot', stale: true });
    expect(toFleetServer(record({ status: 'draining' }), T, OTHER).drain).toBe('sigterm');
    expect(toFleetServer(record({ status: 'terminated', freshUntil: T - 1 }), T, OTHER)).not.toHaveProperty('stale');
    expect(toFleetServer(record({ freshUntil: NEVER }), T, OTHER)).not.toHaveProperty('stale');
  });

  it('keeps the newest version of a record read twice while the index was paged', () => {
    const older = record({ version: 3, status: 'available' });
    const newer = record({ version: 4, status: 'claimed' });
    const other = record({ endpoint: '10.0.0.2:7777' });
    expect(newestPerEndpoint([newer, other, older])).toEqual([newer, other]);
    expect(newestPerEndpoint([older, newer])).toEqual([newer]);
  });
});

describe('recent-events feed entries (pure)', () => {
  const event = {
    specversion: '1.0',
    id: 'gs:10.0.0.1:7777:5:claim.lost',
    source: 'urn:test',
    type: 'claim.lost',
    subject: '10.0.0.1:7777',
    time: iso(T),
    datacontenttype: 'application/json',
    dataschema: 'urn:gs-inventory:events:claim.lost:v1',
    data: {
      server: { endpoint: '10.0.0.1:7777', region: 'us-west', group: 'g1', node: 'node-a', status: 'draining', lastHeartbeatAt: iso(T) },
      previousStatus: 'busy',
      sequence: 5,
      claimId: 'match-1',
      owner: 'key:mm-a',
      endpoint: '10.0.0.1:7777',
      lost: 'draining',
    },
  } as unknown as NotificationEvent;

  it('keeps who, what, and the move of status; the claim id only for the owner and admins', () => {
    const stored = toFeedEvent(event);
    expect(stored).toEqual({
      id: 'gs:10.0.0.1:7777:5:claim.lost',
      type: 'claim.lost',
      time: iso(T),
      endpoint: '10.0.0.1:7777',
      status: 'draining',
      previousStatus: 'busy',
      reason: 'draining',
      node: 'node-a',
      region: 'us-west',
      group: 'g1',
      owner: 'key:mm-a',
      claimId: 'match-1',
    });
    const { claimId: _id, ...rest } = stored;
    expect(feedEventFor(stored, OTHER)).toEqual({ ...rest, claimRef: claimReference('match-1') });
    expect(feedEventFor(stored, OWNER)).toEqual({ ...rest, claimRef: claimReference('match-1'), claimId: 'match-1' });
    expect(feedEventFor(stored, ADMIN)).toEqual({ ...rest, claimRef: claimReference('match-1'), claimId: 'match-1' });
  });
});
