import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GameServerLifecycleEvent, NodeEvent } from '../../lib/pods/events';
import { decideOrdering, laterPhase, phaseOfEvent, type Phase } from '../../lib/pods/ordering';
import { poolPosition } from '../../lib/game-servers/availability-keys';
import { decideGameServerWrite, decideNodeConditionWrite, type LifecycleSettings } from '../../lib/game-servers/lifecycle';
import { compareNodeEvents, decideNodeWrite, isDrained } from '../../lib/nodes/state';
import { NEVER, type GameServerItem, type NodeItem } from '../../schemas/items';
import { T0, gsEvent } from '../fixtures/events';
import { nodeAndPodHistoryWithDelivery, nodeEvent, type MixedEvent } from '../fixtures/node-sequences';

const settings: LifecycleSettings = { heartbeatTimeoutMs: 30_000, retentionMs: 86_400_000, availabilityShards: 2 };
const NOW = T0 + 1_000_000;
const DRAINED = { drained: true };
const NOT_DRAINED = { drained: false };

function applyNode(stored: NodeItem | undefined, event: NodeEvent): NodeItem | undefined {
  const decision = decideNodeWrite(stored, event, NOW, settings);
  return decision.kind === 'write' ? decision.item : stored;
}

/**
 * The poller's rules, applied one event at a time in memory: a node event updates the node record
 * and, when it says so, sweeps the node's servers; a pod event is decided against the record of
 * the node its record will name.
 */
function simulate(events: MixedEvent[]) {
  const nodes = new Map<string, NodeItem>();
  const servers = new Map<string, GameServerItem>();
  for (const event of events) {
    if (event.kind === 'node') {
      const decision = decideNodeWrite(nodes.get(event.node), event, NOW, settings);
      if (decision.kind === 'ignore') continue;
      if (decision.kind === 'write') nodes.set(event.node, decision.item);
      if (!decision.sweep) continue;
      const drained = isDrained(nodes.get(event.node));
      for (const [endpoint, server] of servers) {
        if (server.node !== event.node) continue;
        const change = decideNodeConditionWrite(server, { drained }, NOW, settings);
        if (change.kind === 'write') servers.set(endpoint, change.item);
      }
    } else if (event.kind === 'game-server') {
      const stored = servers.get(event.endpoint);
      const ordering = decideOrdering(stored, event);
      const node = ordering === 'escalate' ? stored!.node : event.node;
      const decision = decideGameServerWrite(stored, event, NOW, settings, { drained: isDrained(nodes.get(node)) });
      if (decision.kind === 'write') servers.set(event.endpoint, decision.item);
    }
  }
  return { nodes, servers };
}

function observable(item: GameServerItem | undefined) {
  if (!item) return undefined;
  const { version: _v, updatedAt: _u, expiresAt: _e, ...rest } = item;
  return rest;
}

const observableNode = (item: NodeItem | undefined) => {
  if (!item) return undefined;
  const { version: _v, updatedAt: _u, ...rest } = item;
  return rest;
};

describe('node event ordering (decideNodeWrite)', () => {
  it('keeps the newest event of a node: a late older drain does not re-drain an un-drained node', () => {
    const drained = applyNode(undefined, nodeEvent({ event: 'draining', sentAt: T0 + 10 }));
    const undrained = applyNode(drained, nodeEvent({ event: 'ready', sentAt: T0 + 20 }));
    expect(undrained).toMatchObject({ node: 'node-x', state: 'ready', sentAt: T0 + 20, version: 2 });
    expect(decideNodeWrite(undrained, nodeEvent({ event: 'draining', sentAt: T0 + 15 }), NOW, settings)).toEqual({ kind: 'ignore' });
  });

  it('a redelivered event is the current one: nothing to write, but its servers are swept again', () => {
    const event = nodeEvent({ event: 'draining', sentAt: T0 + 10, reason: 'spot-interruption' });
    expect(decideNodeWrite(applyNode(undefined, event), event, NOW, settings)).toEqual({ kind: 'current', sweep: true });
  });

  it('sweeps on a change of state and on every drain, not on a repeated ready', () => {
    const ready = applyNode(undefined, nodeEvent({ event: 'ready', sentAt: T0 }));
    expect(decideNodeWrite(undefined, nodeEvent({ event: 'ready', sentAt: T0 }), NOW, settings)).toMatchObject({ kind: 'write', sweep: false });
    expect(decideNodeWrite(ready, nodeEvent({ event: 'ready', sentAt: T0 + 60_000, seq: 2 }), NOW, settings)).toMatchObject({ kind: 'write', sweep: false });
    const drained = applyNode(ready, nodeEvent({ event: 'draining', sentAt: T0 + 1, seq: 2 }));
    expect(decideNodeWrite(drained, nodeEvent({ event: 'draining', sentAt: T0 + 2, seq: 3 }), NOW, settings)).toMatchObject({ kind: 'write', sweep: true });
    expect(decideNodeWrite(drained, nodeEvent({ event: 'ready', sentAt: T0 + 2, seq: 3 }), NOW, settings)).toMatchObject({ kind: 'write', sweep: true });
  });

  it('orders by sentAt, then seq, and settles an exact tie on the safe side (draining)', () => {
    const at = (sentAt: number, seq: number, event: 'ready' | 'draining') => ({ state: event, sentAt, seq });
    expect(compareNodeEvents(at(2, 1, 'ready'), at(1, 9, 'draining'))).toBe(1);
    expect(compareNodeEvents(at(1, 2, 'ready'), at(1, 1, 'draining'))).toBe(1);
    expect(compareNodeEvents(at(1, 1, 'draining'), at(1, 1, 'ready'))).toBe(1);
    expect(compareNodeEvents(at(1, 1, 'ready'), at(1, 1, 'ready'))).toBe(0);
  });

  it('any delivery of a node\'s events leaves the record of its newest event', () => {
    const events = fc.array(fc.record({ event: fc.constantFrom('draining' as const, 'ready' as const), sentAt: fc.integer({ min: 0, max: 20 }), seq: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(events.chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }))), ([list, shuffled]) => {
        const fold = (xs: typeof list) => xs.reduce<NodeItem | undefined>((node, e) => applyNode(node, nodeEvent({ ...e, sentAt: T0 + e.sentAt })), undefined);
        expect(observableNode(fold(shuffled))).toEqual(observableNode(fold(list)));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('game servers of a drained node (decideGameServerWrite, decideNodeConditionWrite)', () => {
  const register = (event: GameServerLifecycleEvent = gsEvent({ node: 'node-x' }), node = NOT_DRAINED) => {
    const decision = decideGameServerWrite(undefined, event, NOW, settings, node);
    if (decision.kind !== 'write') throw new Error('not written');
    return decision.item;
  };
  const drain = (item: GameServerItem) => {
    const decision = decideNodeConditionWrite(item, DRAINED, NOW, settings);
    if (decision.kind !== 'write') throw new Error('not written');
    return decision.item;
  };
  const claimed = (item: GameServerItem, status: 'claimed' | 'busy') => ({
    ...item,
    status,
    claimId: 'c-1',
    claimedAt: NOW,
    ...(status === 'claimed' ? { leaseExpiresAt: NOW + 60_000, availableAt: NOW + 60_000 } : { availableAt: NEVER }),
  });

  it('a new pod on a drained node registers as draining, out of the pool', () => {
    expect(register(gsEvent({ node: 'node-x' }), DRAINED)).toMatchObject({ status: 'draining', phase: 'active', availableAt: NEVER, nodeDraining: true });
  });

  it('a drain takes claimed and busy servers out of the pool and keeps their claims visible', () => {
    expect(drain(claimed(register(), 'claimed'))).toMatchObject({ status: 'draining', claimId: 'c-1', leaseExpiresAt: NOW + 60_000, availableAt: NEVER, nodeDraining: true });
    expect(drain(claimed(register(), 'busy'))).toMatchObject({ status: 'draining', claimId: 'c-1', availableAt: NEVER, nodeDraining: true });
  });

  it('a later ready or heartbeat of a pod on a drained node keeps it draining', () => {
    const drained = drain(register());
    const next = decideGameServerWrite(drained, gsEvent({ node: 'node-x', event: 'heartbeat', seq: 2, sentAt: T0 + 1, players: 4 }), NOW, settings, DRAINED);
    expect(next).toMatchObject({ kind: 'write', item: { status: 'draining', nodeDraining: true, players: 4, seq: 2 } });
  });

  it('un-draining gives each server back what its claim says: available, claimed under its lease, busy', () => {
    const undrain = (item: GameServerItem) => decideNodeConditionWrite(item, NOT_DRAINED, NOW, settings);
    expect(undrain(drain(register()))).toMatchObject({ kind: 'write', item: { status: 'available', availableAt: poolPosition('10.0.0.1:7777', 'pod-1') } });
    expect(undrain(drain(claimed(register(), 'claimed')))).toMatchObject({ kind: 'write', item: { status: 'claimed', availableAt: NOW + 60_000, claimId: 'c-1' } });
    expect(undrain(drain(claimed(register(), 'busy')))).toMatchObject({ kind: 'write', item: { status: 'busy', availableAt: NEVER, claimId: 'c-1' } });
    const restored = undrain(drain(register()));
    expect(restored.kind === 'write' && 'nodeDraining' in restored.item).toBe(false);
  });

  it('a pod\'s next event after an un-drain it missed restores it as well', () => {
    const next = decideGameServerWrite(drain(register()), gsEvent({ node: 'node-x', event: 'heartbeat', seq: 2, sentAt: T0 + 1 }), NOW, settings, NOT_DRAINED);
    expect(next).toMatchObject({ kind: 'write', item: { status: 'available', availableAt: poolPosition('10.0.0.1:7777', 'pod-1') } });
  });

  it('leaves pods that drain or end by themselves alone, and servers that already agree', () => {
    const selfDraining = decideGameServerWrite(undefined, gsEvent({ node: 'node-x', event: 'draining' }), NOW, settings);
    expect(selfDraining.kind === 'write' && decideNodeConditionWrite(selfDraining.item, DRAINED, NOW, settings)).toEqual({ kind: 'ignore' });
    expect(decideNodeConditionWrite(register(), NOT_DRAINED, NOW, settings)).toEqual({ kind: 'ignore' });
    expect(decideNodeConditionWrite(drain(register()), DRAINED, NOW, settings)).toEqual({ kind: 'ignore' });
    const ended = decideGameServerWrite(drain(register()), gsEvent({ node: 'node-x', event: 'terminating', seq: 2, sentAt: T0 + 1 }), NOW, settings, DRAINED);
    expect(ended).toMatchObject({ kind: 'write', item: { status: 'terminated' } });
    expect(ended.kind === 'write' && 'nodeDraining' in ended.item).toBe(false);
  });
});

describe('node and pod events together', () => {
  const rank: Record<Phase, number> = { active: 0, draining: 1, terminated: 2 };

  it('any reordering and duplication of node and pod events ends in the state of the in-order history', () => {
    fc.assert(
      fc.property(nodeAndPodHistoryWithDelivery(), ({ events, delivery }) => {
        const inOrder = simulate(events);
        const shuffled = simulate(delivery);
        expect(observableNode(shuffled.nodes.get('node-x'))).toEqual(observableNode(inOrder.nodes.get('node-x')));
        expect([...shuffled.servers.keys()].sort()).toEqual([...inOrder.servers.keys()].sort());
        for (const [endpoint, item] of inOrder.servers) expect(observable(shuffled.servers.get(endpoint)), endpoint).toEqual(observable(item));
      }),
      { numRuns: 3000 },
    );
  });

  it('a server is draining exactly when its newest pod drained itself, or is active on a node whose newest event is a drain', () => {
    fc.assert(
      fc.property(nodeAndPodHistoryWithDelivery(), ({ events, delivery }) => {
        const { servers } = simulate(delivery);
        const nodeEvents = events.filter((e): e is NodeEvent => e.kind === 'node');
        const nodeDrained = nodeEvents.at(-1)?.event === 'draining';
        for (const [endpoint, item] of servers) {
          const podEvents = events.filter((e): e is GameServerLifecycleEvent => e.kind === 'game-server' && e.endpoint === endpoint);
          const newest = podEvents.at(-1)!;
          const own = podEvents.filter((e) => e.podUid === newest.podUid).map((e) => phaseOfEvent(e.event)).reduce(laterPhase, 'active' as Phase);
          const expected = own === 'active' && newest.node === 'node-x' && nodeDrained ? 'draining' : own === 'active' ? 'available' : own;
          expect(item.status, endpoint).toBe(expected);
          expect(item.nodeDraining === true, endpoint).toBe(rank[own] === 0 && newest.node === 'node-x' && nodeDrained);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('node table and poller access (infra)', () => {
  it('keeps one record per node, on demand, with TTL, and lets only the poller read and write it', async () => {
    const { default: resources } = await import('../../infra/resources.cjs');
    const { default: catalogue } = await import('../../infra/functions.cjs');
    const { names, resources: all } = resources.buildResources('ci');
    expect(names.nodeTable).toBe('node-status-by-name-ci');
    const table = all[resources.LOGICAL_IDS.nodeTable]!.Properties;
    expect(table).toMatchObject({
      TableName: 'node-status-by-name-ci',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'node', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    const users = catalogue.filter((definition) => definition.access.some((access) => access.table === 'nodeTable')).map((definition) => definition.name);
    expect(users).toEqual(['status-poller']);
    const poller = catalogue.find((definition) => definition.name === 'status-poller')!;
    expect(poller.access).toContainEqual({ table: 'gameServerTable', actions: ['dynamodb:Query'], indexes: true });
    expect(poller.access.flatMap((access) => access.actions)).not.toContain('dynamodb:Scan');
  });
});
