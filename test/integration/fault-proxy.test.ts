import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { frameRequest, frameResponse, startFaultProxy, type FaultProxy, type FaultProxyStats } from '../../scripts/chaos/fault-proxy';
import { freePort, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services';

// The proxy does not care about our schema: one scratch table keyed by `id` is enough.
const table = `fault-proxy-${randomBytes(4).toString('hex')}`;
const dynamodbEndpoint = () => inject('dynamodbEndpoint');
/** Reads and setup go straight to DynamoDB Local, never through a proxy. */
let direct: DynamoDBDocumentClient;

beforeAll(async () => {
  direct = DynamoDBDocumentClient.from(new DynamoDBClient({ region: LOCAL_REGION, endpoint: dynamodbEndpoint(), credentials: LOCAL_CREDENTIALS }));
  await direct.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});
afterAll(async () => {
  await direct?.send(new DeleteTableCommand({ TableName: table }));
  direct?.destroy();
});

const opened: { proxies: FaultProxy[]; clients: DynamoDBDocumentClient[] } = { proxies: [], clients: [] };
afterEach(async () => {
  for (const client of opened.clients.splice(0)) client.destroy();
  await Promise.all(opened.proxies.splice(0).map((proxy) => proxy.close()));
});

async function openProxy(seed?: number): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: dynamodbEndpoint(), ...(seed === undefined ? {} : { seed }) });
  opened.proxies.push(proxy);
  return proxy;
}

/**
 * A client through the proxy that never retries, so each call is exactly one request. The default
 * timeout is generous (a busy DynamoDB Local must not fail a pass-through); timeout tests pass a short one.
 */
function clientFor(proxy: FaultProxy, requestTimeoutMs = 30_000): DynamoDBDocumentClient {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: LOCAL_REGION,
      endpoint: proxy.url,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
      requestHandler: { requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true, connectionTimeout: 30_000 },
    }),
  );
  opened.clients.push(client);
  return client;
}

const newId = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
const putItem = (client: DynamoDBDocumentClient, id: string) => client.send(new PutCommand({ TableName: table, Item: { id, n: 0 } }));
const increment = (client: DynamoDBDocumentClient, id: string) =>
  client.send(new UpdateCommand({ TableName: table, Key: { id }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 } }));
const getItem = (client: DynamoDBDocumentClient, id: string) => client.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }));
/** The item as DynamoDB Local holds it, read around the proxy. */
const stored = async (id: string) => (await getItem(direct, id)).Item;

type SdkError = Error & { code?: string };

/** The error a call fails with (the SDK names both resets and timeouts TimeoutError; `code` tells them apart). */
async function failureOf(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error('expected the call to fail, and it succeeded');
}

/** Polls until `check` holds; the deadline is generous because only the outcome is under test, not its speed. */
async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function statsOf(requests: number, forwarded: number, faults: Partial<FaultProxyStats['faults']> = {}): FaultProxyStats {
  return { requests, forwarded, faults: { 'reset-before': 0, 'reset-after': 0, blackhole: 0, latency: 0, outage: 0, ...faults } };
}

describe('fault proxy in front of DynamoDB Local', () => {
  it('passes requests through unchanged when no fault is set', async () => {
    const proxy = await openProxy();
    const client = clientFor(proxy);
    const id = newId('pass');
    await putItem(client, id);
    await increment(client, id);
    expect((await getItem(client, id)).Item).toEqual({ id, n: 1 });
    expect(proxy.stats()).toEqual(statsOf(3, 3));
  });

  it('reset-before: the client sees a connection reset and the write is not applied', async () => {
    const proxy = await openProxy();
    const client = clientFor(proxy);
    const id = newId('reset-before');
    proxy.inject({ match: ({ op }) => op === 'PutItem', fault: 'reset-before' });
    expect((await failureOf(putItem(client, id))).code).toBe('ECONNRESET');
    expect(await stored(id)).toBeUndefined();
    expect(proxy.stats()).toEqual(statsOf(1, 0, { 'reset-before': 1 }));
  });

  it('reset-after: the client sees a connection reset but the write is applied', async () => {
    const proxy = await openProxy();
    const client = clientFor(proxy);
    const id = newId('reset-after');
    proxy.inject({ match: ({ op }) => op === 'PutItem', fault: 'reset-after' });
    expect((await failureOf(putItem(client, id))).code).toBe('ECONNRESET');
    expect(await stored(id)).toEqual({ id, n: 0 });
    expect(proxy.stats()).toEqual(statsOf(1, 1, { 'reset-after': 1 }));
  });

  it('blackhole: the client times out and the write is never applied', async () => {
    const proxy = await openProxy();
    const client = clientFor(proxy, 1_000);
    const id = newId('blackhole');
    // A first call opens the keep-alive connection, so the next request is on the wire before its timer can fire.
    await getItem(client, id);
    proxy.inject({ match: ({ op }) => op === 'PutItem', fault: 'blackhole' });
    expect((await failureOf(putItem(client, id))).code).toBe('ETIMEDOUT');
    await eventually(() => proxy.stats().faults.blackhole === 1, 'the proxy has swallowed the put');
    expect(await stored(id)).toBeUndefined();
    expect(proxy.stats()).toEqual(statsOf(2, 1, { blackhole: 1 }));
    // The connection was held, not answered: the client's next call goes through on a new one.
    await putItem(client, id);
    expect(await stored(id)).toEqual({ id, n: 0 });
  });

  it('a delay longer than the client timeout: the client times out and the write still lands afterwards', async () => {
    const proxy = await openProxy();
    const client = clientFor(proxy, 1_000);
    const id = newId('zombie');
    await getItem(client, id);
    // The proxy's timer starts after the client's and runs longer, so the client always gives up first.
    proxy.inject({ match: ({ op }) => op === 'PutItem', fault: { delayMs: 2_000 } });
    expect((await failureOf(putItem(client, id))).code).toBe('ETIMEDOUT');
    await eventually(async () => (await stored(id)) !== undefined, 'the late put has landed');
    expect(await stored(id)).toEqual({ id, n: 0 });
    expect(proxy.stats()).toEqual(statsOf(2, 2, { latency: 1 }));
  });

  it('an injected rule with times: 2 hits exactly the next two matching requests and nothing else', async () => {
    const proxy = await openProxy();
    const client = clientFor(proxy);
    const [target, other] = [newId('target'), newId('other')];
    await putItem(client, target);
    await putItem(client, other);
    proxy.inject({
      match: ({ op, body }) => op === 'UpdateItem' && (JSON.parse(body) as { Key: { id: { S: string } } }).Key.id.S === target,
      fault: 'reset-before',
      times: 2,
    });
    const outcome = (call: Promise<unknown>) => call.then(
      () => 'ok',
      (error: SdkError) => error.code ?? error.name,
    );
    const outcomes = [];
    for (const call of [
      () => increment(client, other),
      () => increment(client, target),
      () => getItem(client, target),
      () => increment(client, other),
      () => increment(client, target),
      () => increment(client, target),
      () => increment(client, target),
    ]) {
      outcomes.push(await outcome(call()));
    }
    expect(outcomes).toEqual(['ok', 'ECONNRESET', 'ok', 'ok', 'ECONNRESET', 'ok', 'ok']);
    expect(await stored(target)).toEqual({ id: target, n: 2 });
    expect(await stored(other)).toEqual({ id: other, n: 2 });
    expect(proxy.stats()).toEqual(statsOf(9, 7, { 'reset-before': 2 }));
  });

  it('an outage resets requests on open and new connections until it ends', async () => {
    const proxy = await openProxy();
    const client = clientFor(proxy);
    const [before, during1, during2, after] = [newId('before'), newId('during'), newId('during'), newId('after')];
    await putItem(client, before);
    proxy.startOutage();
    // The first put goes out on the connection the previous call left open; the second on a new one.
    expect((await failureOf(putItem(client, during1))).code).toBe('ECONNRESET');
    expect((await failureOf(putItem(client, during2))).code).toBe('ECONNRESET');
    proxy.endOutage();
    await putItem(client, after);
    expect(await stored(during1)).toBeUndefined();
    expect(await stored(during2)).toBeUndefined();
    expect(await stored(after)).toEqual({ id: after, n: 0 });
    expect(proxy.stats()).toEqual(statsOf(4, 2, { outage: 2 }));
  });

  /** One put after another through a fresh proxy with this seed; each outcome read from the table. */
  async function faultSequence(seed: number, requests = 20): Promise<string[]> {
    const proxy = await openProxy(seed);
    proxy.setProfile({ resetBefore: 0.25, resetAfter: 0.25 });
    const client = clientFor(proxy);
    const outcomes: string[] = [];
    for (let i = 0; i < requests; i += 1) {
      const id = newId(`seq-${seed}-${i}`);
      const error = await putItem(client, id).then(
        () => undefined,
        (failure: SdkError) => failure,
      );
      const written = (await stored(id)) !== undefined;
      if (!error) outcomes.push(written ? 'ok' : 'answered but not written');
      else outcomes.push(error.code !== 'ECONNRESET' ? `unexpected ${error.code ?? error.name}` : written ? 'reset-after' : 'reset-before');
    }
    const count = (kind: string) => outcomes.filter((outcome) => outcome === kind).length;
    expect(proxy.stats()).toEqual(statsOf(requests, requests - count('reset-before'), { 'reset-before': count('reset-before'), 'reset-after': count('reset-after') }));
    return outcomes;
  }

  it('a seeded profile gives the same fault sequence for the same seed', async () => {
    const first = await faultSequence(7);
    const second = await faultSequence(7);
    expect(second).toEqual(first);
    // Not a vacuous match: seed 7 yields all three outcomes, and seed 8 a different order.
    expect(new Set(first)).toEqual(new Set(['ok', 'reset-before', 'reset-after']));
    expect(await faultSequence(8)).not.toEqual(first);
  });

  it('frames pipelined chunked and Content-Length requests on one connection and answers them in order', async () => {
    const proxy = await openProxy();
    const id = newId('pipelined');
    const put = JSON.stringify({ TableName: table, Item: { id: { S: id }, n: { N: '5' } } });
    const get = JSON.stringify({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true });
    const head = (op: string, framing: string) =>
      `POST / HTTP/1.1\r\nHost: ${new URL(proxy.url).host}\r\nX-Amz-Target: DynamoDB_20120810.${op}\r\n` +
      'Content-Type: application/x-amz-json-1.0\r\n' +
      'Authorization: AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\n' +
      `${framing}\r\n\r\n`;
    const chunkedPut = `${head('PutItem', 'Transfer-Encoding: chunked')}7;x=y\r\n${put.slice(0, 7)}\r\n${(put.length - 7).toString(16)}\r\n${put.slice(7)}\r\n0\r\nX-Trailer: t\r\n\r\n`;
    const plainGet = `${head('GetItem', `Content-Length: ${Buffer.byteLength(get)}`)}${get}`;

    const socket = connect(proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    socket.write(chunkedPut + plainGet);
    const responses: Array<{ status: number; body: string }> = [];
    await eventually(() => {
      const framed = frameResponse(received, 'POST');
      if (framed.kind === 'complete') {
        const text = received.subarray(0, framed.response.length).toString();
        responses.push({ status: framed.response.status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
        received = received.subarray(framed.response.length);
      }
      return responses.length === 2;
    }, 'both responses have arrived');
    socket.destroy();

    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(JSON.parse(responses[1]!.body)).toEqual({ Item: { id: { S: id }, n: { N: '5' } } });
    expect(proxy.stats()).toEqual(statsOf(2, 2));
  });

  it('resets a connection that sends a malformed request, counts nothing, and keeps serving others', async () => {
    const proxy = await openProxy();
    const socket = connect(proxy.port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write('POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd');
    await closed;
    const client = clientFor(proxy);
    const id = newId('after-garbage');
    await putItem(client, id);
    expect(await stored(id)).toEqual({ id, n: 0 });
    expect(proxy.stats()).toEqual(statsOf(1, 1));
  });

  it('close() drops held and delayed requests and closes their client connections', async () => {
    const proxy = await openProxy();
    const client = clientFor(proxy);
    const [swallowed, delayed] = [newId('swallowed'), newId('delayed')];
    proxy.inject({ match: ({ op, body }) => op === 'PutItem' && body.includes(swallowed), fault: 'blackhole' });
    proxy.inject({ match: ({ op }) => op === 'PutItem', fault: { delayMs: 600_000 } });
    const calls = [failureOf(putItem(client, swallowed)), failureOf(putItem(client, delayed))];
    await eventually(() => proxy.stats().requests === 2, 'the proxy holds both puts');
    await proxy.close();
    expect((await Promise.all(calls)).map((error) => error.code)).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(await stored(swallowed)).toBeUndefined();
    expect(await stored(delayed)).toBeUndefined();
    expect(proxy.stats()).toEqual(statsOf(2, 0, { blackhole: 1, latency: 1 }));
  });

  it('resets the client when the upstream refuses connections, and does not crash', async () => {
    const proxy = await startFaultProxy({ target: `http://127.0.0.1:${await freePort()}` });
    opened.proxies.push(proxy);
    const client = clientFor(proxy);
    expect((await failureOf(putItem(client, newId('no-upstream')))).code).toBe('ECONNRESET');
    expect((await failureOf(putItem(client, newId('no-upstream')))).code).toBe('ECONNRESET');
    expect(proxy.stats()).toEqual(statsOf(2, 0));
  });
});

describe('HTTP/1.1 framing', () => {
  const request = 'POST / HTTP/1.1\r\nHost: h\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\nContent-Length: 11\r\n\r\n{"a":"bcd"}';

  it('frames a request only once all of it has arrived, whatever the split', () => {
    const bytes = Buffer.from(request);
    for (let cut = 0; cut < bytes.length; cut += 1) expect(frameRequest(bytes.subarray(0, cut)).kind).toBe('incomplete');
    const framed = frameRequest(bytes);
    expect(framed.kind === 'complete' && { length: framed.request.length, body: framed.request.body.toString() }).toEqual({ length: bytes.length, body: '{"a":"bcd"}' });
  });

  it('frames the first of two pipelined requests by its own length', () => {
    const framed = frameRequest(Buffer.from(request + request));
    expect(framed.kind === 'complete' && framed.request.length).toBe(Buffer.byteLength(request));
  });

  it('decodes a chunked body with extensions and trailers', () => {
    const chunked = 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\nNEXT';
    const framed = frameRequest(Buffer.from(chunked));
    expect(framed.kind === 'complete' && { length: framed.request.length, body: framed.request.body.toString() }).toEqual({
      length: chunked.length - 'NEXT'.length,
      body: 'abcde',
    });
  });

  it('reports a client waiting for 100 Continue', () => {
    const head = 'PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n';
    expect(frameRequest(Buffer.from(head))).toEqual({ kind: 'incomplete', needBytes: head.length + 5, expectContinue: true });
  });

  it.each([
    ['conflicting Content-Length', 'POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'],
    ['Transfer-Encoding without final chunked', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'],
    ['whitespace before a header colon', 'POST / HTTP/1.1\r\nContent-Length : 0\r\n\r\n'],
    ['a bad chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['a bad request line', 'POST /\r\n\r\n'],
  ])('rejects %s', (_name, text) => {
    expect(frameRequest(Buffer.from(text)).kind).toBe('invalid');
  });

  const headAnswer = 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n';
  const noContent = 'HTTP/1.1 204 No Content\r\n\r\n';
  const closing = 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok';
  const interim = 'HTTP/1.1 100 Continue\r\n\r\n';
  it.each([
    ['a HEAD response has no body', headAnswer + noContent, 'HEAD', { kind: 'complete', response: { length: headAnswer.length, status: 200, closes: false } }],
    ['a 204 has no body', noContent + noContent, 'POST', { kind: 'complete', response: { length: noContent.length, status: 204, closes: false } }],
    ['Connection: close is reported', closing, 'POST', { kind: 'complete', response: { length: closing.length, status: 200, closes: true } }],
    ['a 100 Continue is interim', `${interim}HTTP/1.1 200 OK\r\n`, 'POST', { kind: 'interim', length: interim.length }],
    ['no length means until close', 'HTTP/1.1 200 OK\r\n\r\npartial', 'POST', { kind: 'until-close', status: 200 }],
  ] as const)('%s', (_name, text, method, expected) => {
    expect(frameResponse(Buffer.from(text), method)).toEqual(expected);
  });
});
