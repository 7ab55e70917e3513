import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { clampSentAt, normalizeStatusMessage, type ClampResult } from '../../lib/messages/normalize';
import { LEGACY_GS_BODY, LEGACY_LB_BODY, T0, v1Message } from '../fixtures/events';

const SENT = 1_767_225_600_123;
const normalize = (body: unknown) =>
  normalizeStatusMessage({ body: typeof body === 'string' ? body : JSON.stringify(body), sentTimestamp: SENT });

describe('normalizeStatusMessage', () => {
  it('accepts a v1 game-server event and converts sentAt to epoch ms', () => {
    expect(normalize(v1Message())).toEqual({
      ok: true,
      event: {
        kind: 'game-server',
        event: 'ready',
        endpoint: '10.0.0.12:7777',
        publicEndpoint: 'gs-12.example.com:7777',
        region: 'us-west',
        group: 'mockup-server-grp1',
        node: 'ip-10-0-0-12',
        podUid: '6f1c2b1e-0000-4000-8000-000000000001',
        seq: 1,
        sentAt: T0,
        labels: { map: 'dust', mode: 'ranked' },
        capacity: 10,
        players: 0,
        source: 'v1',
      },
    });
  });

  it('accepts a v1 load-balancer event with targets', () => {
    const result = normalize({
      v: 1,
      kind: 'load-balancer',
      event: 'heartbeat',
      endpoint: 'LB-1.example.com:41000',
      region: 'us-west',
      node: 'node-lb',
      podUid: 'lb-1',
      seq: 7,
      sentAt: '2026-01-01T00:00:05+00:00',
      targets: ['10.0.0.1:7777'],
    });
    expect(result).toMatchObject({
      ok: true,
      event: { kind: 'load-balancer', endpoint: 'lb-1.example.com:41000', targets: ['10.0.0.1:7777'], seq: 7 },
    });
  });

  it('maps the legacy game-server JSON message: key private_ipv4:public_port, node = private_ipv4, seq = SentTimestamp', () => {
    expect(normalize(LEGACY_GS_BODY)).toEqual({
      ok: true,
      event: {
        kind: 'game-server',
        event: 'ready',
        endpoint: '192.168.1.10:40001',
        publicEndpoint: 'ec2-54-1-2-3.us-west-2.compute.amazonaws.com:40001',
        region: 'us-west',
        group: 'mockup-server-grp1',
        node: '192.168.1.10',
        podUid: `legacy-${SENT}`,
        seq: SENT,
        sentAt: SENT,
        source: 'legacy',
      },
    });
  });

  it('maps legacy terminating to terminating', () => {
    const result = normalize(LEGACY_GS_BODY.replace('"init"', '"terminating"'));
    expect(result).toMatchObject({ ok: true, event: { event: 'terminating', endpoint: '192.168.1.10:40001' } });
  });

  it('maps the legacy load-balancer Python literal: key public_hostname:public_port, endpoints as targets', () => {
    expect(normalize(LEGACY_LB_BODY)).toEqual({
      ok: true,
      event: {
        kind: 'load-balancer',
        event: 'ready',
        endpoint: 'ec2-54-9-9-9.us-west-2.compute.amazonaws.com:41000',
        region: 'us-west',
        node: 'ec2-54-9-9-9.us-west-2.compute.amazonaws.com',
        podUid: `legacy-${SENT}`,
        seq: SENT,
        sentAt: SENT,
        source: 'legacy',
        targets: ['10.0.0.1:40001', '10.0.0.2:40002'],
      },
    });
  });

  it.each([
    ['not JSON nor Python', '{oops', 'neither JSON nor a Python literal'],
    ['an array', '[1,2]', 'not an object'],
    ['a string', '"ready"', 'not an object'],
    ['an unknown version', { ...v1Message(), v: 2 }, 'v:'],
    ['an unknown kind', { ...v1Message(), kind: 'router' }, 'kind'],
    ['an unknown event', { ...v1Message(), event: 'exploded' }, 'event'],
    ['a bad endpoint', { ...v1Message(), endpoint: '10.0.0.300:7777' }, 'endpoint'],
    ['a port out of range', { ...v1Message(), endpoint: '10.0.0.1:70000' }, 'endpoint'],
    ['a missing podUid', { ...v1Message(), podUid: undefined }, 'podUid'],
    ['a negative seq', { ...v1Message(), seq: -1 }, 'seq'],
    ['a fractional seq', { ...v1Message(), seq: 1.5 }, 'seq'],
    ['a bad sentAt', { ...v1Message(), sentAt: 'yesterday' }, 'sentAt'],
    ['a missing node', { ...v1Message(), node: undefined }, 'node'],
    ['a legacy gs without private_ipv4', LEGACY_GS_BODY.replace('192.168.1.10', ''), 'private_ipv4:public_port'],
    ['a legacy message with an unknown status', LEGACY_GS_BODY.replace('"init"', '"exploded"'), 'status'],
    ['a legacy lb with bad endpoints', LEGACY_LB_BODY.replace("u'10.0.0.1:40001'", "u'nope'"), 'endpoints'],
    ['an oversized body', JSON.stringify({ ...v1Message(), pad: 'x'.repeat(70_000) }), 'larger than 64 KiB'],
  ])('rejects %s', (_name, body, reason) => {
    const result = normalize(body);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  const nodeMessage = (overrides: Record<string, unknown> = {}) => ({
    v: 1,
    kind: 'node',
    event: 'draining',
    node: 'ip-10-0-0-12.ec2.internal',
    sentAt: new Date(T0).toISOString(),
    seq: 3,
    ...overrides,
  });

  it('accepts a v1 node event', () => {
    expect(normalize(nodeMessage({ reason: 'spot-interruption' }))).toEqual({
      ok: true,
      event: { kind: 'node', event: 'draining', node: 'ip-10-0-0-12.ec2.internal', sentAt: T0, seq: 3, reason: 'spot-interruption' },
    });
  });

  it.each([
    ['an unknown node event', nodeMessage({ event: 'terminating' }), 'event'],
    ['a missing node', nodeMessage({ node: undefined }), 'node'],
    ['a bad node name', nodeMessage({ node: '-bad name' }), 'node'],
    ['a bad sentAt', nodeMessage({ sentAt: 'soon' }), 'sentAt'],
    ['a negative seq', nodeMessage({ seq: -1 }), 'seq'],
    ['an unknown drain reason', nodeMessage({ reason: 'boredom' }), 'reason'],
  ])('rejects a node event with %s', (_name, body, reason) => {
    const result = normalize(body);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  it('rejects a legacy message without a SentTimestamp', () => {
    expect(normalizeStatusMessage({ body: LEGACY_GS_BODY, sentTimestamp: Number.NaN })).toEqual({
      ok: false,
      reason: 'legacy message without SentTimestamp',
    });
  });
});

describe('clampSentAt: a v1 sentAt is bounded by the queue clock', () => {
  const SKEW = 5000;
  const HOUR = 3_600_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  /** Normalizes a message the queue stamped at `sentTimestamp`, then clamps it as the poller does. */
  const receive = (body: unknown, sentTimestamp = SENT, maxClockSkewMs = SKEW): ClampResult => {
    const normalized = normalizeStatusMessage({ body: typeof body === 'string' ? body : JSON.stringify(body), sentTimestamp });
    if (!normalized.ok) throw new Error(normalized.reason);
    return clampSentAt(normalized.event, sentTimestamp, maxClockSkewMs);
  };
  const sentAtOf = (result: ClampResult) => (result.ok ? result.event.sentAt : result.reason);

  it('clamps a pod event sent 1 hour ahead of SentTimestamp to SentTimestamp + the skew and reports by how much', () => {
    const result = receive(v1Message({ sentAt: iso(SENT + HOUR) }));
    expect(result).toEqual({ ok: true, event: expect.objectContaining({ sentAt: SENT + SKEW, podUid: v1Message().podUid, seq: 1 }), clampedByMs: HOUR - SKEW });
  });

  it('keeps a sentAt ahead of SentTimestamp by no more than the skew, and one in the past', () => {
    expect(receive(v1Message({ sentAt: iso(SENT + 1200) }))).toMatchObject({ ok: true, event: { sentAt: SENT + 1200 }, clampedByMs: 0 });
    expect(receive(v1Message({ sentAt: iso(SENT + SKEW) }))).toMatchObject({ ok: true, event: { sentAt: SENT + SKEW }, clampedByMs: 0 });
    expect(receive(v1Message({ sentAt: iso(SENT - HOUR) }))).toMatchObject({ ok: true, event: { sentAt: SENT - HOUR }, clampedByMs: 0 });
  });

  it('clamps one millisecond beyond the skew', () => {
    expect(receive(v1Message({ sentAt: iso(SENT + SKEW + 1) }))).toMatchObject({ ok: true, event: { sentAt: SENT + SKEW }, clampedByMs: 1 });
  });

  it('honours the configured skew (EVENT_MAX_CLOCK_SKEW_MS, default 5000)', () => {
    expect(loadConfig({}).maxClockSkewMs).toBe(5000);
    const configured = loadConfig({ EVENT_MAX_CLOCK_SKEW_MS: '2000' }).maxClockSkewMs;
    expect(configured).toBe(2000);
    const body = v1Message({ sentAt: iso(SENT + 3000) });
    expect(sentAtOf(receive(body, SENT, configured))).toBe(SENT + 2000);
    expect(sentAtOf(receive(body, SENT, 5000))).toBe(SENT + 3000);
    expect(sentAtOf(receive(v1Message({ sentAt: iso(SENT + 1) }), SENT, loadConfig({ EVENT_MAX_CLOCK_SKEW_MS: '0' }).maxClockSkewMs))).toBe(SENT);
  });

  it.each(['-1', '1.5', 'soon', '600001'])('refuses EVENT_MAX_CLOCK_SKEW_MS=%s, naming the variable', (value) => {
    expect(() => loadConfig({ EVENT_MAX_CLOCK_SKEW_MS: value })).toThrow(/EVENT_MAX_CLOCK_SKEW_MS/);
  });

  it('clamps a node event the same way', () => {
    const node = { v: 1, kind: 'node', event: 'ready', node: 'ip-10-0-0-12.ec2.internal', sentAt: iso(SENT + HOUR), seq: 2 };
    expect(receive(node)).toEqual({
      ok: true,
      event: { kind: 'node', event: 'ready', node: 'ip-10-0-0-12.ec2.internal', sentAt: SENT + SKEW, seq: 2 },
      clampedByMs: HOUR - SKEW,
    });
  });

  it('clamps a load-balancer event the same way', () => {
    const lb = { v: 1, kind: 'load-balancer', event: 'ready', endpoint: 'lb-1.example.com:41000', region: 'us-west', node: 'n', podUid: 'lb', seq: 1, sentAt: iso(SENT + HOUR) };
    expect(sentAtOf(receive(lb))).toBe(SENT + SKEW);
  });

  it('leaves a legacy event as it is (its sentAt is the SentTimestamp)', () => {
    expect(receive(LEGACY_GS_BODY, SENT, 0)).toMatchObject({ ok: true, event: { sentAt: SENT, seq: SENT }, clampedByMs: 0 });
  });

  it.each([
    ['NaN (attribute missing)', Number.NaN],
    ['0 (attribute empty)', 0],
    ['negative', -1],
    ['not an integer', SENT + 0.5],
  ])('refuses a v1 event whose SentTimestamp is %s: its sentAt cannot be bounded', (_name, sentTimestamp) => {
    for (const body of [v1Message(), { v: 1, kind: 'node', event: 'draining', node: 'node-a', sentAt: iso(SENT) }]) {
      const normalized = normalizeStatusMessage({ body: JSON.stringify(body), sentTimestamp });
      expect(normalized.ok).toBe(true);
      expect(normalized.ok && clampSentAt(normalized.event, sentTimestamp, SKEW)).toEqual({
        ok: false,
        reason: 'v1 message without SentTimestamp: its sentAt cannot be bounded',
      });
    }
  });
});
