import { createServer, type Server } from 'node:http';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../scripts/chaos/fault-proxy';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services';
import {
  startStreamEventSource,
  type BatchReport,
  type DiscardedRecords,
  type StreamEventSource,
  type StreamEventSourceOptions,
} from '../../scripts/local/stream-event-source';
import { createTestStack, type TestStack } from '../setup/stack';

/** Generous: DynamoDB Local shares a loaded 2-core box with the whole suite. */
const DEADLINE_MS = 30_000;
/** The tests on DynamoDB Local, each with its own stage (more are made on demand). */
const STACKS_AHEAD = 10;

let t: TestStack;
let streamArn: string;
const opened: { sources: StreamEventSource[]; clients: DynamoDBStreamsClient[]; proxies: FaultProxy[]; servers: Server[] } = {
  sources: [],
  clients: [],
  proxies: [],
  servers: [],
};

afterEach(async () => {
  await Promise.all(opened.sources.splice(0).map((source) => source.stop()));
  for (const client of opened.clients.splice(0)) client.destroy();
  await Promise.all(opened.proxies.splice(0).map((proxy) => proxy.close()));
  await Promise.all(opened.servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

function streamsClient(endpoint: string, maxAttempts?: number): DynamoDBStreamsClient {
  const client = new DynamoDBStreamsClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, ...(maxAttempts ? { maxAttempts } : {}) });
  opened.clients.push(client);
  return client;
}

function start(options: Partial<StreamEventSourceOptions> & Pick<StreamEventSourceOptions, 'handler'>): StreamEventSource {
  const source = startStreamEventSource({ streams: streamsClient(t.endpoints.dynamodb), streamArn, retryDelayMs: () => 5, pollIntervalMs: 50, ...options });
  opened.sources.push(source);
  return source;
}

async function within<T>(promise: Promise<T>, what: string, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const table = () => t.config.tables.gameServers;
const put = (endpoint: string, fields: Record<string, unknown> = {}) => t.deps.ddb.send(new PutCommand({ TableName: table(), Item: { endpoint, ...fields } }));

/** Writes servers e1..en, one INSERT each, in order. */
async function putServers(n: number, prefix = 'e'): Promise<string[]> {
  const endpoints = Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
  for (const endpoint of endpoints) await put(endpoint);
  return endpoints;
}

const endpointOf = (record: DynamoDBRecord) => record.dynamodb!.Keys!.endpoint!.S!;

/** A handler that records every batch it is given (by endpoint) and answers with `answer`. */
function recordingHandler(answer: (records: DynamoDBRecord[], call: number) => DynamoDBBatchResponse | void = () => undefined) {
  const calls: string[][] = [];
  const handler = async (event: DynamoDBStreamEvent) => {
    calls.push(event.Records.map(endpointOf));
    return answer(event.Records, calls.length);
  };
  return { calls, handler };
}

describe('stream event source on DynamoDB Local', () => {
  // Each test reads its own stream from its start: a fresh stage (tables, streams) per test. They
  // are provisioned side by side up front (one at a time costs a second or more each on a loaded
  // box), and removed together at the end.
  const spares: Array<Promise<TestStack>> = [];
  const used: Array<Promise<TestStack>> = [];
  beforeAll(() => {
    for (let i = 0; i < STACKS_AHEAD; i++) {
      const stack = createTestStack();
      stack.catch(() => undefined); // a failure surfaces in the test that takes it
      spares.push(stack);
    }
  });
  beforeEach(async () => {
    const next = spares.shift() ?? createTestStack();
    used.push(next);
    t = await next;
    streamArn = t.stack.streamArns[t.config.tables.gameServers]!;
  });
  afterEach(async () => {
    await Promise.all(opened.sources.splice(0).map((source) => source.stop()));
  });
  afterAll(async () => {
    const all = await Promise.allSettled([...used, ...spares.splice(0)]);
    await Promise.all(all.map((settled) => (settled.status === 'fulfilled' ? settled.value.destroy() : undefined)));
  });

  it("delivers INSERT, MODIFY and REMOVE records in write order, with both images, in Lambda's record shape", async () => {
    const before = Math.floor(Date.now() / 1000);
    await put('10.0.0.1:7777', { status: 'available', version: 1, token: new Uint8Array([1, 2, 3]) });
    await t.deps.ddb.send(
      new UpdateCommand({ TableName: table(), Key: { endpoint: '10.0.0.1:7777' }, UpdateExpression: 'SET #s = :s, version = :v', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':s': 'claimed', ':v': 2 } }),
    );
    await put('10.0.0.2:7777', { status: 'available', version: 1 });
    await t.deps.ddb.send(new DeleteCommand({ TableName: table(), Key: { endpoint: '10.0.0.1:7777' } }));
    const after = Math.ceil(Date.now() / 1000);

    const delivered: DynamoDBRecord[] = [];
    const source = start({
      handler: async (event) => {
        delivered.push(...event.Records);
      },
    });
    await within(source.drain(), 'drain');

    expect(delivered.map((r) => [r.eventName, endpointOf(r)])).toEqual([
      ['INSERT', '10.0.0.1:7777'],
      ['MODIFY', '10.0.0.1:7777'],
      ['INSERT', '10.0.0.2:7777'],
      ['REMOVE', '10.0.0.1:7777'],
    ]);
    const streamRegion = streamArn.split(':')[3];
    const shape = (dynamodb: Record<string, unknown>) => ({
      eventID: expect.any(String),
      eventName: expect.any(String),
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: streamRegion,
      eventSourceARN: streamArn,
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        SequenceNumber: expect.any(String),
        SizeBytes: expect.any(Number),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
        ...dynamodb,
      },
    });
    const key = { endpoint: { S: '10.0.0.1:7777' } };
    const inserted = { endpoint: { S: '10.0.0.1:7777' }, status: { S: 'available' }, version: { N: '1' }, token: { B: Buffer.from([1, 2, 3]).toString('base64') } };
    const modified = { ...inserted, status: { S: 'claimed' }, version: { N: '2' } };
    expect(delivered[0]).toEqual(shape({ Keys: key, NewImage: inserted }));
    expect(delivered[1]).toEqual(shape({ Keys: key, OldImage: inserted, NewImage: modified }));
    expect(delivered[3]).toEqual(shape({ Keys: key, OldImage: modified }));
    for (const record of delivered) {
      // Whole seconds, as Lambda gives them (DynamoDB Local rounds down to the minute).
      const seconds = record.dynamodb!.ApproximateCreationDateTime!;
      expect(Number.isInteger(seconds) && seconds >= before - 60 && seconds <= after).toBe(true);
      expect(record.dynamodb!.SizeBytes).toBeGreaterThan(0);
    }
    const sequence = delivered.map((r) => BigInt(r.dynamodb!.SequenceNumber!));
    expect([...sequence].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(sequence);
    expect(new Set(delivered.map((r) => r.eventID)).size).toBe(4);

    // Records written while it runs follow, in order.
    await putServers(3, 'late');
    await within(source.drain(), 'second drain');
    expect(delivered.slice(4).map(endpointOf)).toEqual(['late1', 'late2', 'late3']);
  });

  it('carries empty maps and lists, and nested ones, as they are in the image', async () => {
    await put('10.0.0.9:7777', { labels: {}, targets: [], nested: { inner: {}, list: [[], {}] }, version: 1 });
    const delivered: DynamoDBRecord[] = [];
    const source = start({
      handler: async (event) => {
        delivered.push(...event.Records);
      },
    });
    await within(source.drain(), 'drain');
    expect(delivered.map((r) => r.dynamodb!.NewImage)).toEqual([
      {
        endpoint: { S: '10.0.0.9:7777' },
        labels: { M: {} },
        targets: { L: [] },
        nested: { M: { inner: { M: {} }, list: { L: [{ L: [] }, { M: {} }] } } },
        version: { N: '1' },
      },
    ]);
  });

  it('reads batches of at most batchSize records, one at a time, in order', async () => {
    const endpoints = await putServers(7);
    let inFlight = 0;
    let maxInFlight = 0;
    const contexts: string[] = [];
    const { calls, handler } = recordingHandler();
    const source = start({
      batchSize: 3,
      functionName: 'notifier',
      handler: async (event, context) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        contexts.push(`${context.functionName} ${context.awsRequestId}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        await handler(event);
        inFlight--;
      },
    });
    await within(source.drain(), 'drain');
    expect(calls).toEqual([endpoints.slice(0, 3), endpoints.slice(3, 6), endpoints.slice(6)]);
    expect(maxInFlight).toBe(1);
    // A Lambda context per invocation, each with its own request id.
    expect(contexts.map((c) => c.split(' ')[0])).toEqual(['notifier', 'notifier', 'notifier']);
    expect(new Set(contexts).size).toBe(3);
  });

  it('redelivers a partial batch failure from the lowest failed record on, never the records before it', async () => {
    const endpoints = await putServers(6);
    const { calls, handler } = recordingHandler((records, call) =>
      // Records 5, 3 and 4 fail on the first call: the retry starts at 3, the lowest.
      call === 1 ? { batchItemFailures: [records[4]!, records[2]!, records[3]!].map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })) } : undefined,
    );
    const reports: BatchReport[] = [];
    const source = start({ batchSize: 10, handler, onBatch: (report) => reports.push(report) });
    await within(source.drain(), 'drain');

    expect(calls).toEqual([endpoints, endpoints.slice(2)]);
    expect(reports.map(({ size, failed }) => ({ size, failed }))).toEqual([
      { size: 6, failed: 4 },
      { size: 4, failed: 0 },
    ]);
  });

  it('fails the whole batch when an itemIdentifier is empty or not in the batch, and treats an empty list as success', async () => {
    const endpoints = await putServers(3);
    const answers: Array<DynamoDBBatchResponse | void> = [
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: '999999999999999999999' }] },
      { batchItemFailures: [] },
    ];
    const { calls, handler } = recordingHandler((_, call) => answers[call - 1]);
    const source = start({ batchSize: 10, handler });
    await within(source.drain(), 'drain');
    expect(calls).toEqual([endpoints, endpoints, endpoints]);
  });

  it('bisects around a poison record, delivers every other record in order, and gives the poison one to onFailure after maximumRetryAttempts', async () => {
    const endpoints = await putServers(8);
    const poison = 'e6';
    const { calls, handler } = recordingHandler((records) => {
      if (records.some((r) => endpointOf(r) === poison)) throw new Error('poison');
    });
    const discarded: DiscardedRecords[] = [];
    const source = start({ batchSize: 8, maximumRetryAttempts: 4, handler, onFailure: (info) => void discarded.push(info) });
    await within(source.drain(), 'drain');

    expect(calls).toEqual([
      endpoints, // fails (attempt 1): split
      ['e1', 'e2', 'e3', 'e4'],
      ['e5', 'e6', 'e7', 'e8'], // fails (2): split
      ['e5', 'e6'], // fails (3): split
      ['e5'],
      ['e6'], // fails (4): retried
      ['e6'], // fails (5 > 4 + 0 retries left): discarded
      ['e7', 'e8'],
    ]);
    expect(calls.filter((batch) => batch.includes(poison))).toHaveLength(4 + 1);
    expect(discarded).toHaveLength(1);
    expect(discarded[0]!.records.map(endpointOf)).toEqual([poison]);
    expect(discarded[0]!.attempts).toBe(5);
    expect((discarded[0]!.error as Error).message).toBe('poison');
    // Every other record was handed over successfully exactly once.
    const succeeded = calls.filter((batch) => !batch.includes(poison)).flat();
    expect(succeeded).toEqual(endpoints.filter((e) => e !== poison));

    // The shard has moved on: new records are delivered.
    await put('e9');
    await within(source.drain(), 'second drain');
    expect(calls.at(-1)).toEqual(['e9']);
  });

  it('without bisection discards the whole failing batch, offering it to onFailure until it accepts', async () => {
    const endpoints = await putServers(3);
    const { calls, handler } = recordingHandler((records) => {
      if (records.some((r) => endpointOf(r) === 'e2')) throw new Error('poison');
    });
    const offered: string[][] = [];
    const reports: BatchReport[] = [];
    const source = start({
      batchSize: 10,
      maximumRetryAttempts: 1,
      bisectBatchOnFunctionError: false,
      handler,
      onFailure: (info) => {
        offered.push(info.records.map(endpointOf));
        if (offered.length === 1) throw new Error('destination down');
      },
      onBatch: (report) => reports.push(report),
    });
    await within(source.drain(), 'drain');

    expect(calls).toEqual([endpoints, endpoints]);
    expect(offered).toEqual([endpoints, endpoints]);
    expect(reports.filter((r) => (r.error as Error | undefined)?.message === 'destination down')).toHaveLength(1);
    expect(reports.filter((r) => r.discarded === 3)).toHaveLength(1);

    await put('e4');
    await within(source.drain(), 'second drain');
    expect(calls.at(-1)).toEqual(['e4']);
  });

  it('starts at LATEST: records written before the first read are not delivered', async () => {
    await putServers(2, 'old');
    const { calls, handler } = recordingHandler();
    const source = start({ startingPosition: 'LATEST', handler });
    // Once drained, the shard has been opened at its tip: later writes come through.
    await within(source.drain(), 'drain');
    await putServers(2, 'new');
    await within(source.drain(), 'second drain');
    expect(calls.flat()).toEqual(['new1', 'new2']);
  });

  it('delivers the first records of a stream that was empty while other tables were written', async () => {
    const fromStart = recordingHandler();
    const fromLatest = recordingHandler();
    const sources = [start({ handler: fromStart.handler }), start({ startingPosition: 'LATEST', handler: fromLatest.handler })];
    // Both have read the empty shard (DynamoDB Local's iterators there hold the next sequence number).
    await within(Promise.all(sources.map((s) => s.drain())), 'drain');
    await t.deps.ddb.send(new PutCommand({ TableName: t.config.tables.claims, Item: { claimId: 'another-table' } }));
    const endpoints = await putServers(2);
    await within(Promise.all(sources.map((s) => s.drain())), 'second drain');
    expect(fromStart.calls.flat()).toEqual(endpoints);
    expect(fromLatest.calls.flat()).toEqual(endpoints);
  });

  it('stop() waits for the batch in flight and no handler call follows it', async () => {
    await put('e1');
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const events: string[] = [];
    const { calls, handler } = recordingHandler();
    const source = start({
      handler: async (event) => {
        await handler(event);
        events.push('handler started');
        await released;
        events.push('handler ended');
      },
    });
    await waitFor(() => events.length === 1, 'the first batch');
    const stopped = source.stop().then(() => events.push('stopped'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toEqual(['handler started']);
    release();
    await within(stopped, 'stop');
    expect(events).toEqual(['handler started', 'handler ended', 'stopped']);

    // Another source sees the records written after stop(); the stopped one never does.
    await putServers(3, 'after');
    const witness = recordingHandler();
    await within(start({ handler: witness.handler }).drain(), 'witness drain');
    expect(witness.calls.flat()).toEqual(['e1', 'after1', 'after2', 'after3']);
    expect(calls).toEqual([['e1']]);
    await expect(source.drain()).rejects.toThrow(/stopped/);
  });

  it('retries stream reads through an outage and then delivers each record once, in order', async () => {
    const proxy = await startFaultProxy({ target: t.endpoints.dynamodb });
    opened.proxies.push(proxy);
    const { calls, handler } = recordingHandler();
    const errors: unknown[] = [];
    const source = start({
      streams: streamsClient(proxy.url, 1),
      handler,
      onBatch: (report) => {
        if (report.error) errors.push(report.error);
      },
    });
    await within(source.drain(), 'drain before the outage');
    proxy.startOutage();
    const endpoints = await putServers(5);
    await waitFor(() => errors.length >= 2, 'failed reads during the outage');
    proxy.endOutage();
    await within(source.drain(), 'drain after the outage');
    expect(calls.flat()).toEqual(endpoints);
  });
});

/**
 * DynamoDB Local serves one shard and never expires an iterator, so shard lineage and iterator
 * expiry are exercised against a scripted DynamoDB Streams endpoint speaking the same JSON protocol.
 */
describe('stream event source on a scripted stream endpoint', () => {
  interface FakeShard {
    id: string;
    parent?: string;
    records: string[];
    closed: boolean;
  }
  interface FakeStream {
    shards: FakeShard[];
    /** GetRecords calls to answer with ExpiredIteratorException, by call number (1-based, over all shards). */
    expireCalls: Set<number>;
    /** Slows DescribeStream down, so that a read of a known shard always answers before it. */
    describeDelayMs?: number;
    log: Array<{ op: string; body: Record<string, unknown> }>;
  }

  const wireRecord = (seq: string) => ({
    eventID: `id-${seq}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: 1_700_000_000,
      Keys: { endpoint: { S: `r${seq}` } },
      NewImage: { endpoint: { S: `r${seq}` } },
      SequenceNumber: seq,
      SizeBytes: 10,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  });

  async function serveStream(stream: FakeStream): Promise<string> {
    let getRecordsCalls = 0;
    const answer = (op: string, body: Record<string, unknown>): { status: number; json: unknown } => {
      stream.log.push({ op, body });
      const shard = (id: unknown) => stream.shards.find((s) => s.id === id)!;
      if (op === 'DescribeStream') {
        return {
          status: 200,
          json: {
            StreamDescription: {
              StreamArn: body.StreamArn,
              StreamStatus: 'ENABLED',
              StreamViewType: 'NEW_AND_OLD_IMAGES',
              Shards: stream.shards.map((s) => ({
                ShardId: s.id,
                ...(s.parent ? { ParentShardId: s.parent } : {}),
                SequenceNumberRange: { StartingSequenceNumber: s.records[0] ?? '0', ...(s.closed ? { EndingSequenceNumber: s.records.at(-1) } : {}) },
              })),
            },
          },
        };
      }
      if (op === 'GetShardIterator') {
        const s = shard(body.ShardId);
        const position =
          body.ShardIteratorType === 'TRIM_HORIZON' ? 0 : body.ShardIteratorType === 'LATEST' ? s.records.length : s.records.indexOf(String(body.SequenceNumber)) + 1;
        return { status: 200, json: { ShardIterator: `${s.id}|${position}` } };
      }
      if (op === 'GetRecords') {
        getRecordsCalls++;
        if (stream.expireCalls.has(getRecordsCalls)) {
          return { status: 400, json: { __type: 'com.amazonaws.dynamodb.v20120810#ExpiredIteratorException', message: 'Iterator expired' } };
        }
        const [id, at] = String(body.ShardIterator).split('|');
        const s = shard(id);
        const position = Number(at);
        const page = s.records.slice(position, position + Number(body.Limit ?? 1000));
        const next = position + page.length;
        const exhausted = s.closed && next >= s.records.length;
        return { status: 200, json: { Records: page.map(wireRecord), ...(exhausted ? {} : { NextShardIterator: `${s.id}|${next}` }) } };
      }
      return { status: 400, json: { __type: 'com.amazon.coral.validate#ValidationException', message: `unknown ${op}` } };
    };
    const server = createServer((request, response) => {
      let raw = '';
      request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      request.on('end', () => {
        const op = String(request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
        const reply = () => {
          const { status, json } = answer(op, JSON.parse(raw || '{}') as Record<string, unknown>);
          response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
          response.end(JSON.stringify(json));
        };
        if (op === 'DescribeStream' && stream.describeDelayMs) setTimeout(reply, stream.describeDelayMs);
        else reply();
      });
    });
    opened.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  const fakeArn = 'arn:aws:dynamodb:us-east-1:000000000000:table/fake/stream/2026-01-01T00:00:00.000';

  function startOn(endpoint: string, options: Partial<StreamEventSourceOptions> & Pick<StreamEventSourceOptions, 'handler'>): StreamEventSource {
    const source = startStreamEventSource({
      streams: streamsClient(endpoint, 1),
      streamArn: fakeArn,
      retryDelayMs: () => 5,
      pollIntervalMs: 20,
      describeIntervalMs: 50,
      ...options,
    });
    opened.sources.push(source);
    return source;
  }

  it('reads a child shard only after its parent is exhausted, and follows shards that appear later', async () => {
    const stream: FakeStream = {
      // Listed child first: the order of the listing must not decide the order of reading.
      shards: [
        { id: 'child', parent: 'parent', records: ['4', '5', '6'], closed: false },
        { id: 'parent', records: ['1', '2', '3'], closed: true },
      ],
      expireCalls: new Set(),
      describeDelayMs: 100,
      log: [],
    };
    const endpoint = await serveStream(stream);
    const { calls, handler } = recordingHandler();
    // No periodic description within the test: shards are found because a shard ended or a drain asked.
    const source = startOn(endpoint, { batchSize: 2, handler, describeIntervalMs: 600_000 });
    await within(source.drain(), 'drain');
    expect(calls).toEqual([['r1', 'r2'], ['r3'], ['r4', 'r5'], ['r6']]);
    const iteratorsOpened = stream.log.filter((l) => l.op === 'GetShardIterator').map((l) => l.body.ShardId);
    expect(iteratorsOpened).toEqual(['parent', 'child']);

    // The child closes and is split: its own child appears only in later descriptions.
    stream.shards[0]!.records.push('7');
    stream.shards[0]!.closed = true;
    stream.shards.push({ id: 'grandchild', parent: 'child', records: ['8', '9'], closed: false });
    await within(source.drain(), 'second drain');
    expect(calls.slice(4)).toEqual([['r7'], ['r8', 'r9']]);

    // A shard with no parent appears while the others are idle: a drain waits for it too.
    stream.shards.push({ id: 'another', records: ['10'], closed: false });
    await within(source.drain(), 'third drain');
    expect(calls.slice(6)).toEqual([['r10']]);
  });

  it('reopens an expired iterator after the last record handed over, losing and repeating nothing', async () => {
    const stream: FakeStream = {
      shards: [{ id: 'only', records: ['1', '2', '3', '4'], closed: false }],
      // The second read (after records 1-2 were handed over) finds its iterator expired.
      expireCalls: new Set([2]),
      log: [],
    };
    const endpoint = await serveStream(stream);
    const { calls, handler } = recordingHandler();
    const errors: string[] = [];
    const source = startOn(endpoint, { batchSize: 2, handler, onBatch: (report) => report.error && errors.push((report.error as Error).name) });
    await within(source.drain(), 'drain');

    expect(calls).toEqual([['r1', 'r2'], ['r3', 'r4']]);
    expect(errors).toEqual(['ExpiredIteratorException']);
    const reopened = stream.log.filter((l) => l.op === 'GetShardIterator').map((l) => [l.body.ShardIteratorType, l.body.SequenceNumber]);
    expect(reopened).toEqual([
      ['TRIM_HORIZON', undefined],
      ['AFTER_SEQUENCE_NUMBER', '2'],
    ]);
  });
});
