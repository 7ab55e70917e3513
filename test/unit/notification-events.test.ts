import { describe, expect, it } from 'vitest';
import { cloudEventSchema, EVENT_TYPES, type EventType } from '../../schemas/events';
import { NEVER, type GameServerItem, type LoadBalancerItem } from '../../schemas/items';
import { gameServerEvents, loadBalancerEvents, toCloudEvent } from '../../lib/notifications/derive';
import { eventsOfChange } from '../../lib/notifications/notify';
import { withStaleWatch } from '../../lib/game-servers/stale-watch';

const T = Date.parse('2026-11-26T12:00:00Z');
const LEASE = 60_000;
const HOLD = 3_600_000;

/** A registered, available server; each change below is a record a real write would produce. */
const available: GameServerItem = {
  endpoint: '10.0.0.1:7777',
  region: 'us-west',
  group: 'grp1',
  node: 'node-a',
  phase: 'active',
  source: 'v1',
  podUid: 'pod-1',
  seq: 1,
  sentAt: T,
  lastEvent: 'ready',
  lastHeartbeatAt: T,
  freshUntil: T + 30_000,
  version: 1,
  updatedAt: T,
  status: 'available',
  availableAt: 0.42,
  availAll: 'all#0',
  availRegion: 'us-west#0',
  availGroup: 'us-west#grp1#0',
};

const next = (from: GameServerItem, change: Partial<GameServerItem>, at = from.updatedAt + 1000): GameServerItem => {
  const { ...rest } = from;
  return { ...rest, ...change, version: from.version + 1, updatedAt: at };
};
const without = (item: GameServerItem, ...fields: Array<keyof GameServerItem>): GameServerItem => {
  const copy: Record<string, unknown> = { ...item };
  for (const field of fields) delete copy[field];
  return copy as GameServerItem;
};

const claimedA = next(available, { status: 'claimed', claimId: 'claim-a', claimAttempt: 'att-1', owner: 'key:mm', claimedAt: T + 1000, leaseExpiresAt: T + 1000 + LEASE, availableAt: T + 1000 + LEASE });
const busyA = next(without(claimedA, 'leaseExpiresAt'), { status: 'busy', holdExpiresAt: T + 2000 + HOLD, availableAt: T + 2000 + HOLD });
const releasedA = next(without(busyA, 'claimId', 'claimAttempt', 'owner', 'claimedAt', 'holdExpiresAt'), { status: 'available', availableAt: 0.77, returnedAt: T + 3000 });
const heartbeat = (item: GameServerItem, at: number) => next(item, { lastHeartbeatAt: at, freshUntil: at + 30_000, lastEvent: 'heartbeat' }, at);
const drainingPod = next(busyA, { status: 'draining', phase: 'draining', availableAt: NEVER, lastEvent: 'draining' });
const nodeDrained = (item: GameServerItem, reason?: string) =>
  next(item, { status: 'draining', availableAt: NEVER, nodeDraining: true, ...(reason ? { nodeDrainReason: reason } : {}) });
const staleMarked = (item: GameServerItem, at: number) => next(without(item, 'watch'), { staleAt: at }, at);

interface Row {
  name: string;
  old?: GameServerItem;
  new?: GameServerItem;
  expect: Array<[EventType, Record<string, unknown>?]>;
}

const ROWS: Row[] = [
  { name: 'a new record that is available', new: available, expect: [['gs.available', { reason: 'registered', previousStatus: null }]] },
  { name: 'a new record of a draining pod', new: { ...available, status: 'draining', phase: 'draining', availableAt: NEVER }, expect: [['gs.draining', { reason: 'sigterm' }]] },
  { name: 'a heartbeat of an available server', old: available, new: heartbeat(available, T + 10_000), expect: [] },
  { name: 'a claim', old: available, new: claimedA, expect: [['gs.claimed', { claimId: 'claim-a', owner: 'key:mm', previousStatus: 'available', leaseExpiresAt: new Date(T + 1000 + LEASE).toISOString() }]] },
  { name: 'a confirm (claimed to busy, same claim)', old: claimedA, new: busyA, expect: [['gs.busy', { claimId: 'claim-a', previousStatus: 'claimed' }]] },
  { name: 'set-gs-busy on an available server', old: available, new: next(available, { status: 'busy', claimId: 'hold-1', owner: 'key:mm', claimedAt: T, holdExpiresAt: T + HOLD, availableAt: T + HOLD }), expect: [['gs.busy', { claimId: 'hold-1' }]] },
  { name: 'a renewal (a new lease end, same claim)', old: claimedA, new: next(claimedA, { leaseExpiresAt: T + 5000 + LEASE, availableAt: T + 5000 + LEASE }), expect: [] },
  { name: 'a release', old: busyA, new: releasedA, expect: [['gs.released', { claimId: 'claim-a', owner: 'key:mm', previousStatus: 'busy' }], ['gs.available', { reason: 'released', claimId: 'claim-a' }]] },
  { name: 'a heartbeat within the lease', old: claimedA, new: heartbeat(claimedA, T + 20_000), expect: [] },
  { name: 'the first heartbeat after the lease ran out', old: heartbeat(claimedA, T + 20_000), new: heartbeat(heartbeat(claimedA, T + 20_000), T + 70_000), expect: [['gs.available', { reason: 'lease-expired', claimId: 'claim-a', previousStatus: 'claimed' }]] },
  { name: 'a later heartbeat after the lease ran out', old: heartbeat(claimedA, T + 70_000), new: heartbeat(heartbeat(claimedA, T + 70_000), T + 80_000), expect: [] },
  { name: 'the first heartbeat after the hold ran out', old: busyA, new: heartbeat(busyA, T + 2000 + HOLD + 1), expect: [['gs.available', { reason: 'hold-expired', claimId: 'claim-a' }]] },
  { name: 'another claim after the lease ran out', old: heartbeat(claimedA, T + 70_000), new: next(heartbeat(claimedA, T + 70_000), { claimId: 'claim-b', owner: 'key:other', leaseExpiresAt: T + 200_000, availableAt: T + 200_000 }), expect: [['gs.claimed', { claimId: 'claim-b', owner: 'key:other', previousStatus: 'available' }]] },
  { name: 'the pod of a busy server drains', old: busyA, new: drainingPod, expect: [['gs.draining', { reason: 'sigterm', claimId: 'claim-a' }], ['claim.lost', { claimId: 'claim-a', owner: 'key:mm', lost: 'draining', endpoint: '10.0.0.1:7777' }]] },
  { name: 'a Spot interruption drains the node of an available server', old: available, new: nodeDrained(available, 'spot-interruption'), expect: [['gs.draining', { reason: 'spot-interruption' }]] },
  { name: 'a rebalance recommendation drains the node', old: available, new: nodeDrained(available, 'rebalance-recommendation'), expect: [['gs.draining', { reason: 'rebalance' }]] },
  { name: 'a node drained by hand', old: available, new: nodeDrained(available, 'manual'), expect: [['gs.draining', { reason: 'node-drain' }]] },
  { name: 'a node drain of a claimed server', old: claimedA, new: nodeDrained(claimedA), expect: [['gs.draining', { reason: 'node-drain' }], ['claim.lost', { lost: 'draining', claimId: 'claim-a' }]] },
  { name: 'a node drain of a server whose lease ran out (no live claim to lose)', old: claimedA, new: next(nodeDrained(claimedA, 'manual'), {}, T + 1000 + LEASE + 1), expect: [['gs.draining', { reason: 'node-drain' }]] },
  { name: 'the node of an available server is un-drained', old: nodeDrained(available), new: next(without(nodeDrained(available), 'nodeDraining'), { status: 'available', availableAt: 0.42 }), expect: [['gs.available', { reason: 'undrained', previousStatus: 'draining' }]] },
  { name: 'a draining server with its claim terminates (the claim was told already)', old: drainingPod, new: next(drainingPod, { status: 'terminated', phase: 'terminated' }), expect: [['gs.terminated', { claimId: 'claim-a', previousStatus: 'draining' }]] },
  { name: 'a busy server terminates', old: busyA, new: next(busyA, { status: 'terminated', phase: 'terminated', availableAt: NEVER }), expect: [['gs.terminated', {}], ['claim.lost', { lost: 'terminated', claimId: 'claim-a' }]] },
  { name: 'the stale sweep marks a busy server', old: busyA, new: staleMarked(busyA, T + 60_000), expect: [['gs.stale', { staleAt: new Date(T + 60_000).toISOString(), claimId: 'claim-a' }], ['claim.lost', { lost: 'stale', claimId: 'claim-a' }]] },
  { name: 'the stale sweep marks a claimed server whose lease ran out', old: claimedA, new: staleMarked(claimedA, T + 1000 + LEASE + 5000), expect: [['gs.stale', {}]] },
  { name: 'a heartbeat clears the stale mark', old: staleMarked(busyA, T + 60_000), new: heartbeat(staleMarked(busyA, T + 60_000), T + 61_000), expect: [] },
  { name: 'a new pod on the endpoint of a terminated server', old: next(available, { status: 'terminated', phase: 'terminated', availableAt: NEVER }), new: next(available, { podUid: 'pod-2', availableAt: 0.1 }), expect: [['gs.available', { reason: 'registered', previousStatus: 'terminated' }]] },
  { name: 'a new pod that dropped the live claim of the pod before it', old: busyA, new: next(releasedA, { podUid: 'pod-2', availableAt: 0.1 }), expect: [['gs.available', { reason: 'registered' }], ['claim.lost', { lost: 'terminated', claimId: 'claim-a' }]] },
  { name: 'a record deleted by its TTL', old: next(available, { status: 'terminated', phase: 'terminated' }), expect: [] },
];

describe('game-server events: each fires exactly for its transition', () => {
  it.each(ROWS)('$name', (row) => {
    const drafts = gameServerEvents({ ...(row.old ? { old: row.old } : {}), ...(row.new ? { new: row.new } : {}) });
    expect(drafts.map((d) => d.type)).toEqual(row.expect.map(([type]) => type));
    row.expect.forEach(([, fields], i) => expect(drafts[i]!.data).toMatchObject(fields ?? {}));
    for (const draft of drafts) {
      expect(draft.data.sequence).toBe(row.new!.version);
      const event = toCloudEvent('gs', row.new!, draft, '/gs-inventory/test');
      expect(cloudEventSchema(draft.type).parse(event)).toEqual(event);
    }
  });

  it('covers every game-server event type', () => {
    const fired = new Set(ROWS.flatMap((row) => row.expect.map(([type]) => type)));
    expect([...fired].sort()).toEqual(EVENT_TYPES.filter((t) => !t.startsWith('lb.')).sort());
  });

  it('gives a redelivered record the same ids, and another change other ids', () => {
    const ids = (old: GameServerItem, current: GameServerItem) => eventsOfChange({ sequenceNumber: '1', table: 'gs', old, new: current }, '/s').map((e) => e.id);
    expect(ids(busyA, releasedA)).toEqual(['gs:10.0.0.1:7777:4:gs.released', 'gs:10.0.0.1:7777:4:gs.available']);
    expect(ids(busyA, releasedA)).toEqual(ids(busyA, releasedA));
    expect(ids(available, claimedA)).toEqual(['gs:10.0.0.1:7777:2:gs.claimed']);
  });

  it('refuses an image that is not a game-server record', () => {
    expect(() => eventsOfChange({ sequenceNumber: '1', table: 'gs', new: { endpoint: 'x' } }, '/s')).toThrow();
  });
});

describe('the stale-watch key of a record to be written', () => {
  it('is set exactly while a claim holds the server and it is not marked stale', () => {
    expect(withStaleWatch(available).watch).toBeUndefined();
    expect(withStaleWatch(claimedA).watch).toMatch(/^w#\d+$/);
    expect(withStaleWatch(busyA).watch).toBe(withStaleWatch(claimedA).watch);
    expect(withStaleWatch(drainingPod).watch).toBeUndefined();
    expect(withStaleWatch({ ...releasedA, watch: 'w#3' }).watch).toBeUndefined();
  });

  it('keeps a stale mark until a heartbeat makes the server fresh again, then watches it again', () => {
    const marked = { ...busyA, staleAt: busyA.freshUntil + 5000 };
    expect(withStaleWatch(marked)).toMatchObject({ staleAt: marked.staleAt });
    expect(withStaleWatch(marked).watch).toBeUndefined();
    // A late copy of an older heartbeat leaves the server as silent as it was.
    expect(withStaleWatch({ ...marked, freshUntil: marked.staleAt - 1 }).staleAt).toBe(marked.staleAt);
    const fresh = withStaleWatch({ ...marked, freshUntil: marked.staleAt + 30_000 });
    expect(fresh.staleAt).toBeUndefined();
    expect(fresh.watch).toMatch(/^w#\d+$/);
  });
});

describe('load-balancer events', () => {
  const lb: LoadBalancerItem = {
    endpoint: '10.9.0.1:9000',
    region: 'us-west',
    node: 'node-lb',
    phase: 'active',
    source: 'v1',
    podUid: 'lb-pod-1',
    seq: 1,
    sentAt: T,
    lastEvent: 'ready',
    lastHeartbeatAt: T,
    freshUntil: T + 30_000,
    version: 1,
    updatedAt: T,
    targets: ['10.0.0.1:7777', '10.0.0.2:7777'],
    status: 'active',
    fleet: 'lb',
  };
  const nextLb = (from: LoadBalancerItem, change: Partial<LoadBalancerItem>) => ({ ...from, ...change, version: from.version + 1, updatedAt: from.updatedAt + 1000 });
  it.each([
    { name: 'registers', old: undefined, new: lb, expect: ['lb.active'] },
    { name: 'heartbeats', old: lb, new: nextLb(lb, { lastHeartbeatAt: T + 5000 }), expect: [] },
    { name: 'changes its upstreams', old: lb, new: nextLb(lb, { targets: ['10.0.0.1:7777', '10.0.0.3:7777'] }), expect: ['lb.targets'] },
    { name: 'drains', old: lb, new: nextLb(lb, { status: 'draining', phase: 'draining' }), expect: ['lb.draining'] },
    { name: 'terminates', old: lb, new: nextLb(lb, { status: 'terminated', phase: 'terminated' }), expect: ['lb.terminated'] },
  ])('$name', (row) => {
    const drafts = loadBalancerEvents({ ...(row.old ? { old: row.old } : {}), new: row.new });
    expect(drafts.map((d) => d.type)).toEqual(row.expect);
    for (const draft of drafts) expect(cloudEventSchema(draft.type).parse(toCloudEvent('lb', row.new, draft, '/s'))).toBeTruthy();
  });
});

describe('the AsyncAPI document', () => {
  it('publishes every event type with its CloudEvents envelope and data schema', async () => {
    const { buildAsyncApiDocument } = await import('../../lib/notifications/asyncapi');
    const document = buildAsyncApiDocument() as {
      asyncapi: string;
      components: { messages: Record<string, { payload: { properties: Record<string, { const?: string; required?: string[] }>; required: string[] } }> };
      channels: { notifications: { messages: Record<string, unknown> } };
    };
    expect(document.asyncapi).toBe('3.0.0');
    expect(Object.keys(document.components.messages).sort()).toEqual([...EVENT_TYPES].sort());
    expect(Object.keys(document.channels.notifications.messages).sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const payload = document.components.messages[type]!.payload;
      expect(payload.properties.type!.const).toBe(type);
      expect(payload.required).toEqual(expect.arrayContaining(['specversion', 'id', 'source', 'type', 'subject', 'time', 'data']));
      expect(payload.properties.data!.required).toEqual(expect.arrayContaining(['sequence', 'previousStatus']));
    }
    expect(document.components.messages['claim.lost']!.payload.properties.data!.required).toEqual(expect.arrayContaining(['claimId', 'endpoint', 'lost']));
  });
});
