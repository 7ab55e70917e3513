import { describe, expect, it } from 'vitest';
import { checkObservation, foldEvents } from '../../scripts/chaos/checker';
import type { ClaimRecord, Delivery, HistoryEntry, Observation, SentMessage, ServerRecord, ViolationKind } from '../../scripts/chaos/types';
import { VIOLATION_KINDS } from '../../scripts/chaos/types';
import type { GameServerLifecycleEvent } from '../../lib/pods/events';

// A small, hand-made run: times are milliseconds from T; the snapshot is read at T + 20 s.
const T = 1_800_000_000_000;
const NOW = T + 20_000;
const NEVER = 8_640_000_000_000_000;
const HOLD = T + 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

type Node = string;
function claimBody(claimId: string, status: string, servers: Array<[endpoint: string, node: Node]>, times: { lease: number; hold?: number }) {
  return {
    claimId,
    status,
    servers: servers.map(([endpoint, node]) => ({ endpoint, node, status: status === 'confirmed' ? 'busy' : 'claimed', claimId })),
    leaseExpiresAt: iso(times.lease),
    ...(times.hold !== undefined ? { holdExpiresAt: iso(times.hold) } : {}),
    expired: false,
    createdAt: iso(T),
    replayed: false,
  };
}

let nextId = 1;
function entry(fields: Omit<HistoryEntry, 'id' | 'client' | 'instance'> & Partial<Pick<HistoryEntry, 'client' | 'instance'>>): HistoryEntry {
  return { id: nextId++, client: 'c', instance: 0, ...fields };
}

function server(endpoint: string, fields: Partial<ServerRecord> = {}): ServerRecord {
  return { endpoint, status: 'available', phase: 'active', podUid: `pod-${endpoint}`, seq: 1, sentAt: T - 10_000, node: `node-${endpoint}`, availableAt: 0, freshUntil: NEVER, ...fields };
}

function v1(messageId: string, endpoint: string, podUid: string, seq: number, event: string, sentAt: number): { message: SentMessage; delivery: Delivery } {
  const body = JSON.stringify({ v: 1, kind: 'game-server', event, endpoint, region: 'us-west', node: `node-${endpoint}`, podUid, seq, sentAt: iso(sentAt) });
  return {
    message: { messageId, body, format: 'v1', endpoint, reason: 'original', delaySeconds: 0, sendStart: sentAt, sendEnd: sentAt + 5 },
    delivery: { sentTimestamp: sentAt + 2, firstReceivedAt: sentAt + 50, effectUntil: sentAt + 200, receives: 1 },
  };
}

function legacy(messageId: string, ip: string, port: string, status: 'init' | 'terminating', sentAt: number, delaySeconds = 0): { message: SentMessage; delivery: Delivery } {
  const body = JSON.stringify({ public_hostname: `ec2-${ip.replace(/\./g, '-')}`, public_port: port, region: 'us-west', status, type: 'gs', private_ipv4: ip, group: 'lg' });
  const visible = sentAt + delaySeconds * 1000;
  return {
    message: { messageId, body, format: 'legacy', endpoint: `${ip}:${port}`, reason: 'original', delaySeconds, sendStart: sentAt - 3, sendEnd: sentAt + 3 },
    delivery: { sentTimestamp: sentAt, firstReceivedAt: visible + 50, effectUntil: visible + 200, receives: 1 },
  };
}

/**
 * A clean run: claim c1 on A confirmed and kept; claim c2 on B released; set-gs-busy b1 on C and
 * set available again; one poison message, dead-lettered. Each test breaks one thing.
 */
function cleanRun(): Observation {
  const events = [
    v1('m-a', 'a:1', 'pod-a:1', 1, 'ready', T - 10_000),
    v1('m-b', 'b:1', 'pod-b:1', 1, 'ready', T - 10_000),
    v1('m-c', 'c:1', 'pod-c:1', 1, 'ready', T - 10_000),
  ];
  const poison: SentMessage = { messageId: 'm-poison', body: '{not json', format: 'poison', reason: 'poison', delaySeconds: 0, sendStart: T - 9_000, sendEnd: T - 8_990 };
  return {
    history: [
      entry({ op: 'claim', claimId: 'c1', request: { claimId: 'c1', count: 1 }, start: T, end: T + 100, status: 200, body: claimBody('c1', 'leased', [['a:1', 'node-a:1']], { lease: T + 5_000 }) }),
      entry({ op: 'confirm', claimId: 'c1', start: T + 200, end: T + 300, status: 200, body: claimBody('c1', 'confirmed', [['a:1', 'node-a:1']], { lease: T + 5_000, hold: HOLD }) }),
      entry({ op: 'claim', claimId: 'c2', request: { claimId: 'c2', count: 1 }, start: T, end: T + 100, status: 200, body: claimBody('c2', 'leased', [['b:1', 'node-b:1']], { lease: T + 5_000 }) }),
      entry({ op: 'release', claimId: 'c2', start: T + 1_000, end: T + 1_100, status: 200, body: { ...claimBody('c2', 'released', [['b:1', 'node-b:1']], { lease: T + 5_000 }), released: ['b:1'] } }),
      entry({ op: 'set-busy', claimId: 'b1', endpoint: 'c:1', start: T, end: T + 50, status: 200, body: { server: { endpoint: 'c:1' }, claimId: 'b1', holdExpiresAt: iso(HOLD) } }),
      entry({ op: 'set-available', claimId: 'b1', endpoint: 'c:1', start: T + 2_000, end: T + 2_050, status: 200, body: { released: true, server: { endpoint: 'c:1' } } }),
      entry({ op: 'claim', claimId: 'c3', request: { claimId: 'c3', count: 1 }, start: T + 3_000, end: T + 3_100, status: 409, body: { error: { code: 'gs.none_available', message: '' } } }),
    ],
    messages: [...events.map((e) => e.message), poison],
    deliveries: {
      ...Object.fromEntries(events.map((e) => [e.message.messageId, e.delivery])),
      'm-poison': { sentTimestamp: T - 9_000, firstReceivedAt: T - 8_900, effectUntil: T - 8_800, receives: 5 },
    },
    snapshot: {
      now: NOW,
      servers: [
        server('a:1', { status: 'busy', claimId: 'c1', claimAttempt: 'att-1', holdExpiresAt: HOLD, availableAt: NEVER }),
        server('b:1', { availableAt: T + 1_050 }),
        server('c:1', { availableAt: T + 2_020 }),
      ],
      claims: [
        { claimId: 'c1', status: 'confirmed', endpoints: ['a:1'], attemptId: 'att-1', createdAt: T + 50, leaseExpiresAt: T + 5_000, holdExpiresAt: HOLD },
        { claimId: 'c2', status: 'released', endpoints: ['b:1'], attemptId: 'att-2', createdAt: T + 50, leaseExpiresAt: T + 5_000, releasedAt: T + 1_050 },
      ],
      deadLetters: [{ messageId: 'm-poison', body: '{not json' }],
    },
    drain: { drained: true, remaining: 0, waitedSeconds: 1 },
  };
}

function counts(observation: Observation): Record<ViolationKind, number> {
  const result = checkObservation(observation);
  return Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, result.violations[kind].count])) as Record<ViolationKind, number>;
}

/** Exactly these violations, none of any other kind. */
function expectOnly(observation: Observation, expected: Partial<Record<ViolationKind, number>>): void {
  const zero = Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, 0]));
  expect(counts(observation)).toEqual({ ...zero, ...expected });
}

const setServer = (o: Observation, endpoint: string, fields: Partial<ServerRecord>) => {
  o.snapshot.servers = o.snapshot.servers.map((s) => (s.endpoint === endpoint ? { ...s, ...fields } : s));
};
const setClaim = (o: Observation, claimId: string, fields: Partial<ClaimRecord>) => {
  o.snapshot.claims = o.snapshot.claims.map((c) => (c.claimId === claimId ? { ...c, ...fields } : c));
};
const addEvent = (o: Observation, e: { message: SentMessage; delivery: Delivery }) => {
  o.messages.push(e.message);
  o.deliveries[e.message.messageId] = e.delivery;
};

describe('chaos checker', () => {
  it('finds nothing wrong in a clean run, and says how much it looked at', () => {
    const result = checkObservation(cleanRun());
    expect(Object.values(result.violations).map((v) => v.count)).toEqual(VIOLATION_KINDS.map(() => 0));
    expect(result.exemptions).toEqual([]);
    expect(result.checked).toMatchObject({ 'proven holds': 4, 'kept confirmed claims': 1, 'releases answered 200': 1, 'endpoints folded': 3, 'poison messages': 1 });
  });

  describe('double-hold', () => {
    it('reports a second claim proven to hold a server while the first still holds it', () => {
      const o = cleanRun();
      o.history.push(entry({ op: 'claim', claimId: 'c9', request: { claimId: 'c9', count: 1 }, start: T + 400, end: T + 500, status: 200, body: claimBody('c9', 'leased', [['a:1', 'node-a:1']], { lease: T + 5_400 }) }));
      const result = checkObservation(o);
      expect(result.violations['double-hold'].count).toBe(1);
      expect(result.violations['double-hold'].example?.message).toContain('claim:c1');
      expect(result.violations['double-hold'].example?.message).toContain('claim:c9');
    });

    it('does not count holds that do not overlap: the first lease ran out, or its release had started', () => {
      const o = cleanRun();
      // c2 held B until its release started at T+1000; c8 got B after that.
      o.history.push(entry({ op: 'claim', claimId: 'c8', request: { claimId: 'c8', count: 1 }, start: T + 1_050, end: T + 1_150, status: 200, body: claimBody('c8', 'leased', [['b:1', 'node-b:1']], { lease: T + 1_100 }) }));
      expect(counts(o)['double-hold']).toBe(0);
    });

    it('exempts (and records) a server whose pod was replaced by a pod started after the first claim', () => {
      const o = cleanRun();
      addEvent(o, v1('m-a2', 'a:1', 'pod-a:1-new', 1, 'ready', T + 350));
      o.history.push(entry({ op: 'claim', claimId: 'c9', request: { claimId: 'c9', count: 1 }, start: T + 600, end: T + 700, status: 200, body: claimBody('c9', 'leased', [['a:1', 'node-a:1']], { lease: T + 5_600 }) }));
      setServer(o, 'a:1', { status: 'claimed', podUid: 'pod-a:1-new', sentAt: T + 350, claimId: 'c9', leaseExpiresAt: T + 5_600, availableAt: T + 5_600, holdExpiresAt: undefined });
      const result = checkObservation(o);
      expect(result.violations['double-hold'].count).toBe(0);
      expect(result.exemptions.map((e) => e.check)).toContain('double-hold');
    });
  });

  describe('claim-two-sets', () => {
    it('reports one claim id answered 200 with two different server sets', () => {
      const o = cleanRun();
      o.history.push(entry({ op: 'claim', claimId: 'c2', request: { claimId: 'c2', count: 1 }, start: T + 10, end: T + 120, status: 200, body: claimBody('c2', 'leased', [['c:1', 'node-c:1']], { lease: T + 5_000 }) }));
      expect(counts(o)['claim-two-sets']).toBe(1); // (C was set busy meanwhile: a double hold too)
    });

    it('reports an identical retry answered claim.mismatch, but not a changed request', () => {
      const o = cleanRun();
      const mismatch = { op: 'claim' as const, claimId: 'c2', start: T + 10, end: T + 120, status: 409, body: { error: { code: 'claim.mismatch', message: '' } } };
      expectOnly({ ...o, history: [...o.history, entry({ ...mismatch, request: { claimId: 'c2', count: 1 } })] }, { 'claim-two-sets': 1 });
      expectOnly({ ...o, history: [...o.history, entry({ ...mismatch, request: { claimId: 'c2', count: 2 } })] }, {});
    });
  });

  describe('half-pair', () => {
    it('reports a pair claim answered with one server', () => {
      const o = cleanRun();
      o.history.push(entry({ op: 'claim', claimId: 'p1', request: { claimId: 'p1', count: 2, distinctNodes: true }, start: T + 20, end: T + 90, status: 200, body: claimBody('p1', 'leased', [['d:1', 'n1']], { lease: T + 90 }) }));
      expectOnly(o, { 'half-pair': 1, 'answer-vs-final': 1 }); // and its record is missing
    });

    it('reports a distinct-nodes pair answered with two servers on one node', () => {
      const o = cleanRun();
      o.history.push(entry({ op: 'claim', claimId: 'p1', request: { claimId: 'p1', count: 2, distinctNodes: true }, start: T + 20, end: T + 90, status: 200, body: claimBody('p1', 'leased', [['d:1', 'n1'], ['e:1', 'n1']], { lease: T + 90 }) }));
      o.snapshot.claims.push({ claimId: 'p1', status: 'leased', endpoints: ['d:1', 'e:1'], attemptId: 'x', leaseExpiresAt: T + 90 });
      expectOnly(o, { 'half-pair': 1 });
    });

    it('reports a confirmed pair that holds one server busy and not the other', () => {
      const o = cleanRun();
      o.snapshot.claims.push({ claimId: 'p2', status: 'confirmed', endpoints: ['e:1', 'f:1'], attemptId: 'att-p2', holdExpiresAt: HOLD });
      o.snapshot.servers.push(server('e:1', { status: 'busy', claimId: 'p2', claimAttempt: 'att-p2', holdExpiresAt: HOLD, availableAt: NEVER }), server('f:1'));
      expectOnly(o, { 'half-pair': 1 });
    });
  });

  describe('answer-vs-final', () => {
    it('reports a release answered 200 whose record is not released', () => {
      const o = cleanRun();
      setClaim(o, 'c2', { status: 'leased', releasedAt: undefined });
      expectOnly(o, { 'answer-vs-final': 1 });
    });

    it('reports a confirm answered 200, never released, whose record went back to leased', () => {
      const o = cleanRun();
      setClaim(o, 'c1', { status: 'leased', holdExpiresAt: undefined });
      expectOnly(o, { 'answer-vs-final': 1, 'orphan-busy': 1 }); // and A is busy without a live claim
    });

    it('reports a claim answered 200 whose record was withdrawn', () => {
      const o = cleanRun();
      setClaim(o, 'c2', { status: 'withdrawn' });
      expectOnly(o, { 'answer-vs-final': 2 }); // the claim, and its release
    });

    it('does not excuse a lost hold by heartbeats of a pod that started before the claim', () => {
      const o = cleanRun();
      addEvent(o, v1('m-a2', 'a:1', 'pod-a:1-restarted', 1, 'ready', T - 5_000)); // restarted before c1 was requested
      addEvent(o, v1('m-a3', 'a:1', 'pod-a:1-restarted', 2, 'heartbeat', T + 9_000)); // and heartbeating after
      setServer(o, 'a:1', { podUid: 'pod-a:1-restarted', seq: 2, sentAt: T + 9_000, status: 'available', claimId: undefined, claimAttempt: undefined, holdExpiresAt: undefined, availableAt: 0 });
      const result = checkObservation(o);
      expect(result.exemptions).toEqual([]);
      expect(result.violations['answer-vs-final'].count).toBe(1);
    });

    it('reports a kept set-gs-busy hold that is gone, and exempts one whose pod drained', () => {
      const o = cleanRun();
      o.history.push(entry({ op: 'set-busy', claimId: 'b2', endpoint: 'b:1', start: T + 5_000, end: T + 5_050, status: 200, body: { server: { endpoint: 'b:1' }, claimId: 'b2', holdExpiresAt: iso(HOLD) } }));
      expectOnly(o, { 'answer-vs-final': 1 });
      setServer(o, 'b:1', { status: 'draining', phase: 'draining', claimId: 'b2', availableAt: NEVER });
      const result = checkObservation(o);
      expect(result.violations['answer-vs-final'].count).toBe(0);
      expect(result.exemptions).toEqual([expect.objectContaining({ check: 'answer-vs-final', endpoint: 'b:1', reason: 'pod draining' })]);
    });
  });

  describe('orphan-busy and unheld-confirmed', () => {
    it('reports a busy server whose claim record was released', () => {
      const o = cleanRun();
      setServer(o, 'b:1', { status: 'busy', claimId: 'c2', claimAttempt: 'att-2', holdExpiresAt: HOLD, availableAt: NEVER });
      expectOnly(o, { 'orphan-busy': 1, 'answer-vs-final': 1 }); // and the release 200 left it held
    });

    it('reports a server left busy by a set-gs-busy after set-gs-available was sent', () => {
      const o = cleanRun();
      setServer(o, 'c:1', { status: 'busy', claimId: 'b1', holdExpiresAt: HOLD, availableAt: NEVER });
      expectOnly(o, { 'orphan-busy': 1, 'answer-vs-final': 1 });
    });

    it('accepts a busy server of a live set-gs-busy hold', () => {
      const o = cleanRun();
      o.history = o.history.filter((e) => e.op !== 'set-available');
      setServer(o, 'c:1', { status: 'busy', claimId: 'b1', holdExpiresAt: HOLD, availableAt: NEVER });
      expectOnly(o, {});
    });

    it('accepts (and records) a live set-gs-busy hold whose every release attempt answered 503', () => {
      const o = cleanRun();
      o.history = o.history.map((e) => (e.op === 'set-available' ? { ...e, status: 503, body: undefined } : e));
      setServer(o, 'c:1', { status: 'busy', claimId: 'b1', holdExpiresAt: HOLD, availableAt: NEVER });
      expectOnly(o, {});
      expect(checkObservation(o).exemptions.filter((e) => e.check === 'orphan-busy')).toHaveLength(1);
    });

    it('reports a live confirmed record none of whose servers is busy under it', () => {
      const o = cleanRun();
      o.history = o.history.filter((e) => e.claimId !== 'c1');
      setServer(o, 'a:1', { status: 'available', claimId: undefined, claimAttempt: undefined, holdExpiresAt: undefined, availableAt: 0 });
      expectOnly(o, { 'unheld-confirmed': 1 });
    });
  });

  it('not-claimable: reports an active, fresh, unheld server that the pool does not offer', () => {
    const o = cleanRun();
    setServer(o, 'b:1', { status: 'claimed', claimId: 'x', leaseExpiresAt: T + 5_000, availableAt: NEVER });
    expectOnly(o, { 'not-claimable': 1 });
  });

  describe('ingestion', () => {
    it('reports a v1 server that did not end in the state of its newest event', () => {
      const o = cleanRun();
      // The record stayed at seq 1; the pod's newest event (seq 3) drained it.
      addEvent(o, v1('m-b2', 'b:1', 'pod-b:1', 2, 'heartbeat', T + 5_000));
      addEvent(o, v1('m-b3', 'b:1', 'pod-b:1', 3, 'draining', T + 6_000));
      expectOnly(o, { ingestion: 1 });
      setServer(o, 'b:1', { seq: 3, sentAt: T + 6_000, phase: 'draining', status: 'draining', availableAt: NEVER });
      expectOnly(o, {});
    });

    it('reports a claim undone by a legacy init sent before the claim (delivered after it)', () => {
      const o = cleanRun();
      const first = legacy('l-1', '192.168.1.1', '40001', 'init', T - 10_000);
      const copy = legacy('l-2', '192.168.1.1', '40001', 'init', T - 500, 4); // sent before c7, visible 3.5 s after
      addEvent(o, first);
      addEvent(o, copy);
      o.history.push(
        entry({ op: 'claim', claimId: 'c7', request: { claimId: 'c7', count: 1 }, start: T, end: T + 100, status: 200, body: claimBody('c7', 'leased', [['192.168.1.1:40001', '192.168.1.1']], { lease: T + 5_000 }) }),
        entry({ op: 'confirm', claimId: 'c7', start: T + 200, end: T + 300, status: 200, body: claimBody('c7', 'confirmed', [['192.168.1.1:40001', '192.168.1.1']], { lease: T + 5_000, hold: HOLD }) }),
      );
      o.snapshot.claims.push({ claimId: 'c7', status: 'confirmed', endpoints: ['192.168.1.1:40001'], attemptId: 'att-7', holdExpiresAt: HOLD });
      o.snapshot.servers.push(server('192.168.1.1:40001', { podUid: `legacy-${T - 500}`, seq: T - 500, sentAt: T - 500, source: 'legacy', node: '192.168.1.1' }));
      const result = checkObservation(o);
      expect(result.violations.ingestion.count).toBe(1);
      expect(result.violations.ingestion.example?.message).toContain('undone');
      expect(result.violations['unheld-confirmed'].count).toBe(1);
    });

    it('exempts a legacy claim dropped by a genuinely new pod (init sent after the claim)', () => {
      const o = cleanRun();
      addEvent(o, legacy('l-1', '192.168.1.1', '40001', 'init', T - 10_000));
      addEvent(o, legacy('l-3', '192.168.1.1', '40001', 'init', T + 8_000));
      o.history.push(
        entry({ op: 'set-busy', claimId: 'lb', endpoint: '192.168.1.1:40001', start: T, end: T + 100, status: 200, body: { server: {}, claimId: 'lb', holdExpiresAt: iso(HOLD) } }),
      );
      o.snapshot.servers.push(server('192.168.1.1:40001', { podUid: `legacy-${T + 8_000}`, seq: T + 8_000, sentAt: T + 8_000, source: 'legacy', node: '192.168.1.1' }));
      const result = checkObservation(o);
      expect(Object.values(result.violations).reduce((n, v) => n + v.count, 0)).toBe(0);
      expect(result.exemptions).toEqual([expect.objectContaining({ check: 'answer-vs-final', reason: 'replaced by a pod started after the claim was requested' })]);
    });

    it('reports a legacy message whose SentTimestamp the poller saw differently from what SQS stamped', () => {
      const o = cleanRun();
      const init = legacy('l-1', '192.168.1.1', '40001', 'init', T - 10_000);
      addEvent(o, { ...init, delivery: { ...init.delivery, sentTimestamp: init.delivery.firstReceivedAt + 5_000 } });
      o.snapshot.servers.push(server('192.168.1.1:40001', { source: 'legacy', node: '192.168.1.1' }));
      expectOnly(o, { ingestion: 1 });
    });
  });

  it('dead-lettered-valid: reports a valid event in the dead-letter queue', () => {
    const o = cleanRun();
    o.snapshot.deadLetters.push({ messageId: 'm-b', body: o.messages.find((m) => m.messageId === 'm-b')!.body });
    expectOnly(o, { 'dead-lettered-valid': 1 });
  });

  it('poison-not-dead-lettered: reports a malformed message missing from the dead-letter queue', () => {
    const o = cleanRun();
    o.snapshot.deadLetters = [];
    expectOnly(o, { 'poison-not-dead-lettered': 1 });
  });

  it('http-500: reports every 500', () => {
    const o = cleanRun();
    o.history.push(entry({ op: 'renew', claimId: 'c1', start: T + 400, end: T + 450, status: 500, body: { error: { code: 'internal', message: 'Internal error' } } }));
    expectOnly(o, { 'http-500': 1 });
  });

  it('queue-not-drained: reports a queue that did not empty once the faults stopped', () => {
    const o = cleanRun();
    o.drain = { drained: false, remaining: 7, waitedSeconds: 25 };
    expectOnly(o, { 'queue-not-drained': 1 });
  });
});

describe('foldEvents', () => {
  const event = (podUid: string, seq: number, name: GameServerLifecycleEvent['event'], sentAt: number): GameServerLifecycleEvent => ({
    kind: 'game-server',
    event: name,
    endpoint: 'a:1',
    region: 'r',
    node: 'n',
    podUid,
    seq,
    sentAt,
    source: 'v1',
  });

  it('ends in the newest pod, its highest seq and its latest phase, whatever the order of the input', () => {
    const events = [event('p1', 1, 'ready', 1), event('p1', 2, 'draining', 2), event('p1', 3, 'heartbeat', 3), event('p2', 1, 'ready', 10), event('p2', 2, 'heartbeat', 11)];
    for (const order of [events, [...events].reverse(), [events[3]!, events[0]!, events[4]!, events[2]!, events[1]!]]) {
      expect(foldEvents(order)).toEqual({ podUid: 'p2', seq: 2, sentAt: 11, phase: 'active' });
    }
    expect(foldEvents(events.slice(0, 3))).toEqual({ podUid: 'p1', seq: 3, sentAt: 3, phase: 'draining' });
  });
});
