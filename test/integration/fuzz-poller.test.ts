import fc from 'fast-check';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as makeStatusPoller } from '../../functions/status-poller';
import { T0, v1Message } from '../fixtures/events';
import { observedDeps, snapshotTables } from '../fixtures/guard';
import { sqsEvent, sqsRecord } from '../fixtures/sqs';
import { createTestStack, type TestStack } from '../setup/stack';

/**
 * Property-based fuzzing of the status poller with random SQS batches against DynamoDB Local:
 * malformed messages (random text and JSON, prototype-pollution keys, unicode, huge bodies, valid
 * messages with one field broken, broken SentTimestamp attributes) mixed with valid legacy and v1
 * messages. The handler never throws; every malformed message, and no valid one, is reported as
 * a failed batch item; a batch of malformed messages sends no DynamoDB command and leaves the
 * tables byte-identical.
 */

const BATCHES = 1000;
const SNAPSHOT_EVERY = 40;

let t: TestStack;
let observed: ReturnType<typeof observedDeps>;
let poller: ReturnType<typeof makeStatusPoller>;

beforeAll(async () => {
  t = await createTestStack();
  observed = observedDeps(t);
  poller = makeStatusPoller(observed.deps);
});
afterAll(async () => {
  observed?.destroy();
  await t?.destroy();
});

// ---------- messages ----------

const NASTY = ['__proto__', 'constructor', 'prototype', '', ' ', '\u0000', '\uD800', 'é', '🎮', '\u202E', 'null', 'NaN', '{}', '[]', "'", '"', '\\'];
const weirdString = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 100, max: 3000 }).map((n) => 'z'.repeat(n)),
);

/** A private address whose octets have no leading zeros (what EndpointSchema accepts). */
const ip = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `10.77.${a}.${b}`);
const port = fc.integer({ min: 1, max: 65535 });
const region = fc.constantFrom('us-west', 'eu-north', 'ap-south-1');
const seq = fc.integer({ min: 0, max: 1_000_000 });

const legacyGs = fc.record({
  public_hostname: fc.domain(),
  public_port: port.map(String),
  region,
  status: fc.constantFrom('init', 'terminating'),
  type: fc.constant('gs'),
  private_ipv4: ip,
  group: fc.constantFrom('mockup-server-grp1', 'grp2'),
});

const v1Gs = fc
  .record({ endpoint: fc.tuple(ip, port), event: fc.constantFrom('ready', 'heartbeat', 'draining', 'terminating', 'terminated'), seq, region, minutes: fc.integer({ min: -60, max: 60 }) })
  .map(({ endpoint: [host, p], event, seq, region, minutes }) =>
    v1Message({ endpoint: `${host}:${p}`, event, seq, region, podUid: `pod-${host}-${p}`, node: `node-${host}`, sentAt: new Date(T0 + minutes * 60_000).toISOString() }),
  );

const v1Lb = fc.record({ host: fc.domain(), port, seq, region }).map(({ host, port, seq, region }) =>
  v1Message({ kind: 'load-balancer', endpoint: `${host}:${port}`, seq, region, podUid: `lb-${host}`, node: `node-${host}`, targets: ['10.77.0.1:7777'], labels: undefined, capacity: undefined, players: undefined, group: undefined, publicEndpoint: undefined }),
);

/** A mutation that certainly makes a legacy message invalid. */
const breakLegacy = fc.oneof(
  fc.constantFrom('0', '65536', 'abc', '', '07777', '-1', '4e4').map((value) => ({ public_port: value })),
  fc.constant({ public_port: 7777 }),
  fc.constantFrom('bogus', 'INIT', '', 'ready').map((value) => ({ status: value })),
  fc.constantFrom('xx', 'GS', '', 'node').map((value) => ({ type: value })),
  fc.constantFrom('US WEST', '', '-x', 'r'.repeat(65)).map((value) => ({ region: value })),
  fc.constantFrom('256.1.1.1', '1.2.3', '01.2.3.4', 'x'.repeat(65), '').map((value) => ({ private_ipv4: value })),
  fc.constantFrom('a/b', '', 'g'.repeat(129)).map((value) => ({ group: value })),
  fc.constant({ public_hostname: '' }),
  fc.constantFrom('public_hostname', 'public_port', 'region', 'status', 'type', 'private_ipv4').map((key) => ({ [key]: undefined })),
);

/** A mutation that certainly makes a v1 message invalid. */
const breakV1 = fc.oneof(
  fc.constantFrom(2, '1', 0, null).map((value) => ({ v: value })),
  fc.constantFrom('bogus', 'gs', '').map((value) => ({ kind: value })),
  fc.constantFrom('explode', 'READY', '').map((value) => ({ event: value })),
  fc.constantFrom('10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', '256.0.0.1:7777', '').map((value) => ({ endpoint: value })),
  fc.constantFrom(-1, 1.5, '1', Number.MAX_SAFE_INTEGER + 2, null).map((value) => ({ seq: value })),
  fc.constantFrom('yesterday', '2024-13-01T00:00:00Z', '', 1700000000000).map((value) => ({ sentAt: value })),
  fc.constantFrom('US', '', 5).map((value) => ({ region: value })),
  fc.constantFrom('', 'p'.repeat(129), 7).map((value) => ({ podUid: value })),
  fc.constantFrom('', '-node', 'n'.repeat(254)).map((value) => ({ node: value })),
  fc.constantFrom(-1, 100_001, 2.5).map((value) => ({ players: value })),
  fc.constant({ labels: JSON.parse('{"__proto__":"x"}') as Record<string, string> }),
  fc.constant({ labels: { 'bad key': 'x' } }),
  fc.constantFrom('endpoint', 'event', 'region', 'node', 'podUid', 'seq', 'sentAt').map((key) => ({ [key]: undefined })),
);

const withPatch = (base: Record<string, unknown>, patch: Record<string, unknown>) => {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete result[key];
    else result[key] = value;
  }
  return JSON.stringify(result);
};

const PYTHON_GARBAGE = [
  "{'public_hostname':'ec2-54-9-9-9','public_port':'41000','region':'us-west'",
  "{'type': 'lb', 'endpoints': [u'10.0.0.1:40001',}",
  "{u'status': u'init'}",
  "{'public_port': 41000, 'type': 'lb'}",
  "{'__proto__': {'type': 'lb'}}",
  "{'a': {'b': {'c': {'d': [[[[[[]]]]]]}}}}",
  "[u'10.0.0.1:40001']",
];

/** Messages that are malformed whatever else happens. */
const malformed = fc.oneof(
  { weight: 2, arbitrary: weirdString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  { weight: 3, arbitrary: fc.tuple(legacyGs, breakLegacy).map(([message, patch]) => withPatch(message, patch)) },
  { weight: 3, arbitrary: fc.tuple(v1Gs, breakV1).map(([message, patch]) => withPatch(message, patch)) },
  { weight: 1, arbitrary: fc.constantFrom(...PYTHON_GARBAGE) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"__proto__":{"v":1,"kind":"game-server","polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"__proto__":{"public_hostname":"h","public_port":"1","region":"us-west","status":"init","type":"gs","private_ipv4":"10.77.0.1"}}',
    ),
  },
  { weight: 1, arbitrary: fc.tuple(v1Gs, fc.integer({ min: 64 * 1024, max: 80 * 1024 })).map(([message, n]) => JSON.stringify({ ...message, podUid: 'x'.repeat(n) })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`) },
);

const valid = fc.oneof(
  legacyGs.map((message) => ({ body: JSON.stringify(message), legacy: true })),
  v1Gs.map((message) => ({ body: JSON.stringify(message), legacy: false })),
  v1Lb.map((message) => ({ body: JSON.stringify(message), legacy: false })),
);

const brokenTimestamp = fc.constantFrom('', 'abc', '-1', '0', '1e400', undefined);

interface FuzzMessage {
  body: string;
  kind: 'malformed' | 'valid';
  /** Whether the message depends on the SentTimestamp attribute (legacy format). */
  legacy: boolean;
  timestamp: string | undefined;
}

const malformedMessage = fc.tuple(malformed, fc.oneof(fc.constant(String(T0)), brokenTimestamp)).map(
  ([body, timestamp]): FuzzMessage => ({ body, kind: 'malformed', legacy: false, timestamp }),
);
const validMessage = valid.map(({ body, legacy }): FuzzMessage => ({ body, kind: 'valid', legacy, timestamp: String(T0) }));

const batch = fc.oneof(
  { weight: 1, arbitrary: fc.array(malformedMessage, { minLength: 1, maxLength: 10 }) },
  { weight: 1, arbitrary: fc.array(fc.oneof({ weight: 2, arbitrary: malformedMessage }, { weight: 1, arbitrary: validMessage }), { minLength: 1, maxLength: 10 }) },
);

function toRecord(message: FuzzMessage, index: number): SQSRecord {
  const record = sqsRecord(message.body, { messageId: `fuzz-${index}` });
  if (message.timestamp === undefined) delete (record.attributes as Partial<SQSRecord['attributes']>).SentTimestamp;
  else record.attributes.SentTimestamp = message.timestamp;
  return record;
}

describe('fuzzing the status poller (DynamoDB Local)', () => {
  it(`${BATCHES} random batches: never throws, malformed messages fail alone, and write nothing`, async () => {
    let batches = 0;
    let messages = 0;
    let malformedOnly = 0;
    await fc.assert(
      fc.asyncProperty(batch, async (fuzz) => {
        const records = fuzz.map(toRecord);
        const allMalformed = fuzz.every((message) => message.kind === 'malformed');
        const checkpoint = allMalformed && ++malformedOnly % SNAPSHOT_EVERY === 0;
        const before = checkpoint ? await snapshotTables(t) : undefined;
        observed.sent.length = 0;

        const response = (await poller(sqsEvent(records), { awsRequestId: 'fuzz' } as never)) as SQSBatchResponse;

        const failed = response.batchItemFailures.map((failure) => failure.itemIdentifier);
        expect(new Set(failed).size).toBe(failed.length);
        const expected = fuzz.flatMap((message, i) => (message.kind === 'malformed' ? [`fuzz-${i}`] : []));
        expect([...failed].sort()).toEqual([...expected].sort());
        if (allMalformed) expect(observed.sent).toEqual([]);
        if (before) expect(await snapshotTables(t)).toEqual(before);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        batches++;
        messages += fuzz.length;
      }),
      {
        numRuns: BATCHES,
        reporter: (details) => {
          if (!details.failed) return;
          const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
          throw new Error(`property failed (seed ${details.seed}, path ${details.counterexamplePath}): ${error.slice(0, 2000)}\ncounterexample: ${fc.stringify(details.counterexample).slice(0, 1500)}`);
        },
      },
    );
    expect(batches).toBe(BATCHES);
    expect(messages).toBeGreaterThan(BATCHES * 3);
    expect(malformedOnly).toBeGreaterThan(BATCHES / 4);
  });

  it('rejects a message whose labels carry a __proto__ key (zod would silently drop it) and writes nothing', async () => {
    const body = JSON.stringify({ ...v1Message({ endpoint: '10.77.250.1:7777', podUid: 'proto-pod' }), labels: JSON.parse('{"__proto__":"x","map":"dust"}') });
    expect(body).toContain('"__proto__":"x"');
    observed.sent.length = 0;
    const response = (await poller(sqsEvent([sqsRecord(body, { messageId: 'proto-1' })]), { awsRequestId: 'fuzz' } as never)) as SQSBatchResponse;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'proto-1' }]);
    expect(observed.sent).toEqual([]);
  });
});
