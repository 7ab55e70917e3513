import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../testkit/rng';
import { sleep } from '../../lib/backoff';
import type { PublishedEvent } from '../../lib/notifications/publisher';
import { freePort } from '../../scripts/local/services';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  createWebhookBus,
  DEFAULT_LOCAL_WEBHOOK_SECRET,
  outcomeOfStatus,
  type DeadLetterReason,
  type WebhookBus,
  type WebhookBusOptions,
  type WebhookDeliveryError,
  type WebhookSubscriber,
} from '../../scripts/local/webhook-bus';
import { formatEventLine, startWebhookReceiver, type ReceivedCloudEvent, type WebhookDeliveryInfo } from '../../scripts/local/webhook-receiver';

// Real HTTP on 127.0.0.1 throughout: the bus's fetch against our receiver, or against plain
// servers scripted per request (fail, hang, answer). Nothing waits for a time: waits poll a
// condition up to a generous deadline, and backoffs are a few milliseconds.

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const fastRetry = { baseMs: 2, maxMs: 20 };

const opened: { buses: WebhookBus[]; closers: Array<() => Promise<void>> } = { buses: [], closers: [] };
afterEach(async () => {
  await Promise.all(opened.buses.splice(0).map((bus) => bus.stop()));
  await Promise.all(opened.closers.splice(0).map((close) => close()));
});

interface LogEntry {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

function recordingLogger() {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: unknown, ...extra: unknown[]) =>
      entries.push({ level, message: String(message), fields: (extra[0] ?? {}) as Record<string, unknown> });
  return { entries, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

function openBus(options: Partial<WebhookBusOptions> & { subscribers: WebhookSubscriber[] }) {
  const { entries, logger } = recordingLogger();
  const deadLetters: Array<{ event: PublishedEvent; subscriber: WebhookSubscriber; error: WebhookDeliveryError; reason: DeadLetterReason }> = [];
  const bus = createWebhookBus({
    secret,
    logger,
    retry: fastRetry,
    onDeadLetter: (event, subscriber, error, reason) => deadLetters.push({ event, subscriber, error, reason }),
    ...options,
  });
  opened.buses.push(bus);
  return { bus, logs: entries, deadLetters };
}

let sequence = 0;
/** Events for `subject`, in order, as the notifier publishes them. */
function eventsFor(subject: string, count: number): PublishedEvent[] {
  return Array.from({ length: count }, () => {
    sequence += 1;
    return {
      specversion: '1.0',
      id: `evt-${randomBytes(6).toString('hex')}`,
      type: 'gs-inventory.game-server.status-changed',
      source: 'gs-inventory/local',
      subject,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: { endpoint: subject, sequence },
    };
  });
}

/** Alternates the events of several subjects: a per-subject order check then means something. */
function interleave(...lists: PublishedEvent[][]): PublishedEvent[] {
  const longest = Math.max(...lists.map((l) => l.length));
  return Array.from({ length: longest }, (_, i) => lists.flatMap((l) => (l[i] ? [l[i]] : []))).flat();
}

async function waitUntil(condition: () => boolean, what: string, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

const ids = (events: readonly { id: string }[]) => events.map((e) => e.id);
const bySubject = (events: readonly PublishedEvent[] | readonly ReceivedCloudEvent[]) => {
  const groups = new Map<string, string[]>();
  for (const e of events) groups.set(e.subject ?? '', [...(groups.get(e.subject ?? '') ?? []), e.id]);
  return groups;
};

async function openReceiver(options: { port?: number; onEvent?: () => void } = {}) {
  const received: Array<{ event: ReceivedCloudEvent; delivery: WebhookDeliveryInfo }> = [];
  const receiver = await startWebhookReceiver({
    port: options.port ?? 0,
    secret,
    onEvent: (event, delivery) => {
      options.onEvent?.();
      received.push({ event, delivery });
    },
  });
  opened.closers.push(() => receiver.close());
  return { ...receiver, received, events: () => received.map((r) => r.event) };
}

/** What a scripted webhook does with its n-th request (0-based): answer with a status, or never answer. */
type Reply = number | 'hang';

interface RecordedRequest {
  webhookId: string;
  headers: IncomingHttpHeaders;
  body: string;
  reply: Reply;
}

async function openScriptedWebhook(reply: (n: number) => Reply) {
  const requests: RecordedRequest[] = [];
  let hungClosed = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const decided = reply(requests.length);
      requests.push({ webhookId: String(request.headers['webhook-id']), headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), reply: decided });
      if (decided === 'hang') {
        response.on('close', () => (hungClosed += 1));
        return;
      }
      response.writeHead(decided).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  opened.closers.push(close);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    requests,
    /** Requests left unanswered whose connection the client closed. */
    hungClosed: () => hungClosed,
    /** The webhook-ids of requests answered 2xx, in arrival order. */
    accepted: () => requests.filter((r) => typeof r.reply === 'number' && r.reply < 300).map((r) => r.webhookId),
  };
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, body: response.status === 204 ? undefined : ((await response.json()) as { error: { code: string } }) };
}

function signedHeaders(body: string, options: { id?: string; secret?: string; at?: Date } = {}) {
  const id = options.id ?? 'msg-1';
  const at = options.at ?? new Date();
  return {
    'content-type': CLOUDEVENTS_CONTENT_TYPE,
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(options.secret ?? secret).sign(id, at, body),
  };
}

describe('webhook bus delivery', () => {
  it('delivers every event, signed with the secret, with webhook-id = event id, in publish order', async () => {
    const receiver = await openReceiver();
    const raw = await openScriptedWebhook(() => 200);
    const { bus, logs } = openBus({ subscribers: [{ url: receiver.url, name: 'receiver' }, { url: raw.url, name: 'raw' }] });
    const first = interleave(eventsFor('10.0.0.1:7777', 3), eventsFor('10.0.0.2:7777', 3));
    const second = eventsFor('10.0.0.1:7777', 2);
    await bus.publish(first);
    await bus.publish(second);
    await bus.drain();

    const published = [...first, ...second];
    expect(receiver.events()).toEqual(published);
    expect(receiver.received.map((r) => r.delivery.webhookId)).toEqual(ids(published));
    // The raw body is the CloudEvent itself (structured mode), signed over exactly those bytes.
    expect(raw.requests.map((r) => r.webhookId)).toEqual(ids(published));
    for (const [i, request] of raw.requests.entries()) {
      expect(request.headers['content-type']).toBe(CLOUDEVENTS_CONTENT_TYPE);
      expect(JSON.parse(request.body)).toEqual(published[i]);
      const headers = {
        'webhook-id': request.webhookId,
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      };
      expect(() => new Webhook(secret).verify(request.body, headers)).not.toThrow();
      expect(() => new Webhook(`whsec_${randomBytes(24).toString('base64')}`).verify(request.body, headers)).toThrow('No matching signature found');
    }
    expect(bus.stats()).toEqual({
      receiver: { delivered: 8, failedAttempts: 0, pending: 0, deadLettered: 0 },
      raw: { delivered: 8, failedAttempts: 0, pending: 0, deadLettered: 0 },
    });
    const delivered = logs.filter((l) => l.message === 'webhook event delivered' && l.fields.subscriber === 'receiver');
    expect(delivered.map((l) => l.fields.eventId)).toEqual(ids(published));
    expect(delivered[0]!.fields).toMatchObject({ type: published[0]!.type, subject: published[0]!.subject, status: 204, attempt: 1 });
    expect(typeof delivered[0]!.fields.latencyMs).toBe('number');
  });

  it('redelivers to a webhook that answers 500 at first: every event once, in order per subject, the retries under the same webhook-id', async () => {
    const hook = await openScriptedWebhook((n) => (n < 3 ? 500 : 204));
    const { bus, logs } = openBus({ subscribers: [{ url: hook.url, name: 'flaky' }] });
    const events = interleave(eventsFor('10.0.0.1:7777', 3), eventsFor('10.0.0.2:7777', 3));
    await bus.publish(events);
    await bus.drain();

    // One request at a time: the first event's three failed attempts come before anything else.
    expect(hook.requests.slice(0, 3).map((r) => [r.webhookId, r.reply])).toEqual([
      [events[0]!.id, 500],
      [events[0]!.id, 500],
      [events[0]!.id, 500],
    ]);
    expect(hook.accepted()).toEqual(ids(events));
    const accepted = hook.requests.filter((r) => r.reply === 204).map((r) => JSON.parse(r.body) as PublishedEvent);
    expect(bySubject(accepted)).toEqual(bySubject(events));
    // Each retry is signed afresh and still verifies.
    for (const request of hook.requests) {
      expect(() =>
        new Webhook(secret).verify(request.body, {
          'webhook-id': request.webhookId,
          'webhook-timestamp': String(request.headers['webhook-timestamp']),
          'webhook-signature': String(request.headers['webhook-signature']),
        }),
      ).not.toThrow();
    }
    expect(bus.stats()).toEqual({ flaky: { delivered: 6, failedAttempts: 3, pending: 0, deadLettered: 0 } });
    const failures = logs.filter((l) => l.level === 'warn' && l.message === 'webhook delivery failed');
    expect(failures.map((l) => [l.fields.eventId, l.fields.attempt, l.fields.status, l.fields.code])).toEqual([
      [events[0]!.id, 1, 500, 'webhook.status'],
      [events[0]!.id, 2, 500, 'webhook.status'],
      [events[0]!.id, 3, 500, 'webhook.status'],
    ]);
  });

  it('redelivers to a webhook that refuses connections until it comes up: every event, in publish order', async () => {
    const port = await freePort();
    const { bus, logs } = openBus({ subscribers: [{ url: `http://127.0.0.1:${port}/`, name: 'late' }] });
    const events = interleave(eventsFor('10.0.0.1:7777', 4), eventsFor('10.0.0.2:7777', 4));
    await bus.publish(events.slice(0, 5));
    await waitUntil(() => bus.stats().late!.failedAttempts >= 3, 'three attempts were refused');
    expect(bus.stats().late).toMatchObject({ delivered: 0, pending: 5 });

    const receiver = await openReceiver({ port });
    await bus.publish(events.slice(5));
    await bus.drain();

    expect(ids(receiver.events())).toEqual(ids(events));
    expect(receiver.received.map((r) => r.delivery.webhookId)).toEqual(ids(events));
    const refused = logs.filter((l) => l.message === 'webhook delivery failed');
    expect(refused.length).toBe(bus.stats().late!.failedAttempts);
    expect(new Set(refused.map((l) => [l.fields.eventId, l.fields.code].join(' ')))).toEqual(new Set([`${events[0]!.id} webhook.network`]));
  });

  it('abandons an attempt that gets no answer within requestTimeoutMs and retries it under the same webhook-id', async () => {
    const hook = await openScriptedWebhook((n) => (n === 0 ? 'hang' : 204));
    // Generous for a loaded machine: a slow 204 that times out anyway only adds a redelivery.
    const { bus, logs } = openBus({ subscribers: [{ url: hook.url, name: 'slow' }], requestTimeoutMs: 1000 });
    const events = eventsFor('10.0.0.1:7777', 3);
    await bus.publish(events);
    await bus.drain();

    expect(hook.requests[0]).toMatchObject({ webhookId: events[0]!.id, reply: 'hang' });
    await waitUntil(() => hook.hungClosed() === 1, 'the abandoned request was closed');
    // Consecutive duplicates would be redeliveries of one event; the order is the publish order.
    expect(hook.accepted().filter((id, i, all) => id !== all[i - 1])).toEqual(ids(events));
    expect(logs.find((l) => l.message === 'webhook delivery failed')!.fields).toMatchObject({ eventId: events[0]!.id, attempt: 1, code: 'webhook.timeout' });
    expect(bus.stats().slow).toMatchObject({ delivered: 3, pending: 0, deadLettered: 0 });
  });

  it('keeps delivering to a healthy webhook while another never answers: the dead one holds its events pending', async () => {
    const receiver = await openReceiver();
    const dead = await openScriptedWebhook(() => 'hang');
    const { bus } = openBus({
      subscribers: [{ url: dead.url, name: 'dead' }, { url: receiver.url, name: 'healthy' }],
      requestTimeoutMs: 10 * 60_000,
    });
    const events = interleave(eventsFor('10.0.0.1:7777', 3), eventsFor('10.0.0.2:7777', 2));
    // publish resolves with the dead webhook's first request still open.
    await bus.publish(events.slice(0, 2));
    await waitUntil(() => dead.requests.length === 1, 'the dead webhook got its first request');
    await bus.publish(events.slice(2));
    // By the bus's count, not the receiver's: an event is delivered once its 204 is back.
    await waitUntil(() => bus.stats().healthy!.delivered === events.length, 'the healthy webhook got every event');

    expect(ids(receiver.events())).toEqual(ids(events));
    expect(bus.stats()).toEqual({
      dead: { delivered: 0, failedAttempts: 0, pending: 5, deadLettered: 0 },
      healthy: { delivered: 5, failedAttempts: 0, pending: 0, deadLettered: 0 },
    });
    // One request at a time per subscriber: nothing after the first was sent to the dead one.
    expect(dead.requests.map((r) => r.webhookId)).toEqual([events[0]!.id]);
  });

  it('dead-letters events past maxAgeMs, in order, each logged at error level with the event', async () => {
    const hook = await openScriptedWebhook(() => 500);
    let offsetMs = 0;
    const { bus, logs, deadLetters } = openBus({
      subscribers: [{ url: hook.url, name: 'down' }],
      retry: { ...fastRetry, maxAgeMs: 60_000 },
      clock: () => Date.now() + offsetMs,
    });
    const events = interleave(eventsFor('10.0.0.1:7777', 2), eventsFor('10.0.0.2:7777', 1));
    await bus.publish(events);
    await waitUntil(() => bus.stats().down!.failedAttempts >= 2, 'two attempts failed');
    expect(deadLetters).toEqual([]);

    offsetMs = 61_000;
    await bus.drain();

    expect(deadLetters.map((d) => [d.event.id, d.subscriber.name, d.reason])).toEqual(events.map((e) => [e.id, 'down', 'expired']));
    // The attempted event carries its last failure; those that waited behind it say so, with that failure as cause.
    expect(deadLetters[0]!.error).toMatchObject({ code: 'webhook.status', status: 500 });
    expect(deadLetters[1]!.error).toMatchObject({ code: 'webhook.expired', cause: { code: 'webhook.status', status: 500 } });
    const logged = logs.filter((l) => l.level === 'error' && l.message === 'webhook event dead-lettered');
    expect(logged.map((l) => l.fields.event)).toEqual(events);
    expect(logged.map((l) => l.fields.reason)).toEqual(['expired', 'expired', 'expired']);
    expect(bus.stats().down).toMatchObject({ delivered: 0, pending: 0, deadLettered: 3 });
    // Only the head was ever attempted.
    expect(new Set(hook.requests.map((r) => r.webhookId))).toEqual(new Set([events[0]!.id]));
  });

  it('dead-letters an event answered 410 Gone at once and goes on with the next', async () => {
    const hook = await openScriptedWebhook((n) => (n === 0 ? 410 : 204));
    const { bus, deadLetters } = openBus({ subscribers: [{ url: hook.url, name: 'gone' }] });
    const events = eventsFor('10.0.0.1:7777', 3);
    await bus.publish(events);
    await bus.drain();

    expect(deadLetters.map((d) => [d.event.id, d.reason, d.error.status])).toEqual([[events[0]!.id, 'gone', 410]]);
    expect(hook.accepted()).toEqual(ids(events.slice(1)));
    expect(bus.stats().gone).toEqual({ delivered: 2, failedAttempts: 1, pending: 0, deadLettered: 1 });
  });

  it('dead-letters the oldest waiting events of an outbox over maxOutboxEvents, logged at error level', async () => {
    const receiver = await openReceiver();
    const { bus, logs, deadLetters } = openBus({ subscribers: [{ url: receiver.url, name: 'bounded' }], maxOutboxEvents: 3 });
    const events = eventsFor('10.0.0.1:7777', 6);
    await bus.publish(events);
    await bus.drain();

    expect(deadLetters.map((d) => [d.event.id, d.reason, d.error.code])).toEqual(events.slice(0, 3).map((e) => [e.id, 'outbox-full', 'webhook.outbox_full']));
    expect(logs.filter((l) => l.level === 'error').map((l) => l.fields.eventId)).toEqual(ids(events.slice(0, 3)));
    expect(ids(receiver.events())).toEqual(ids(events.slice(3)));
    expect(bus.stats().bounded).toEqual({ delivered: 3, failedAttempts: 0, pending: 0, deadLettered: 3 });
  });

  it('stop() aborts the request in flight; drain and publish reject afterwards, and the pending events are logged', async () => {
    const hook = await openScriptedWebhook(() => 'hang');
    const { bus, logs } = openBus({ subscribers: [{ url: hook.url, name: 'hung' }], requestTimeoutMs: 10 * 60_000 });
    await bus.publish(eventsFor('10.0.0.1:7777', 2));
    await waitUntil(() => hook.requests.length === 1, 'the first request is in flight');
    const drained = bus.drain();

    await bus.stop();

    await expect(drained).rejects.toThrow('webhook bus stopped');
    await expect(bus.publish(eventsFor('10.0.0.1:7777', 1))).rejects.toThrow('webhook bus stopped');
    await waitUntil(() => hook.hungClosed() === 1, 'the request in flight was aborted');
    expect(hook.requests).toHaveLength(1);
    expect(logs.filter((l) => l.message === 'webhook bus stopped with events pending').map((l) => l.fields)).toEqual([{ subscriber: 'hung', pending: 2 }]);
  });

  it('starts a new delivery loop for events published after the outbox emptied', async () => {
    const receiver = await openReceiver();
    const { bus } = openBus({ subscribers: [{ url: receiver.url }] });
    const events = eventsFor('10.0.0.1:7777', 4);
    await bus.publish([]);
    for (const event of events) {
      await bus.publish([event]);
      await bus.drain();
    }
    expect(ids(receiver.events())).toEqual(ids(events));
    expect(bus.stats()).toEqual({ [receiver.url]: { delivered: 4, failedAttempts: 0, pending: 0, deadLettered: 0 } });
  });

  it('rejects a batch with an event that cannot be serialized, accepting none of it', async () => {
    const receiver = await openReceiver();
    const { bus } = openBus({ subscribers: [{ url: receiver.url, name: 'r' }] });
    const [good] = eventsFor('10.0.0.1:7777', 1);
    const bad = { ...eventsFor('10.0.0.1:7777', 1)[0]!, data: { big: 1n } };
    await expect(bus.publish([good!, bad])).rejects.toThrow(TypeError);
    expect(bus.stats().r).toEqual({ delivered: 0, failedAttempts: 0, pending: 0, deadLettered: 0 });
  });

  it('answers 410 as permanent and every other non-2xx as retryable', () => {
    expect([200, 202, 204, 299].map(outcomeOfStatus)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect([301, 400, 404, 429, 500, 503].map(outcomeOfStatus)).toEqual(['retry', 'retry', 'retry', 'retry', 'retry', 'retry']);
    expect(outcomeOfStatus(410)).toBe('gone');
  });

  it('draws backoff delays from the injected randomness (full jitter under the doubling cap)', async () => {
    const hook = await openScriptedWebhook((n) => (n < 3 ? 503 : 204));
    const { bus, logs } = openBus({ subscribers: [{ url: hook.url, name: 'j' }], retry: { baseMs: 4, maxMs: 10 }, random: mulberry32(7) });
    await bus.publish(eventsFor('10.0.0.1:7777', 1));
    await bus.drain();
    const expected = mulberry32(7);
    const caps = [4, 8, 10];
    expect(logs.filter((l) => l.message === 'webhook delivery failed').map((l) => l.fields.retryInMs)).toEqual(caps.map((cap) => Math.round(expected() * cap)));
  });
});

describe('webhook receiver', () => {
  const event = eventsFor('10.0.0.9:7777', 1)[0]!;
  const body = JSON.stringify(event);

  it('refuses a tampered body, a wrong secret, a stale timestamp and missing headers with 401, passing none on', async () => {
    let calls = 0;
    const receiver = await openReceiver({ onEvent: () => (calls += 1) });
    const tampered = body.replace('10.0.0.9', '10.0.0.8');
    const cases = [
      await post(receiver.url, tampered, signedHeaders(body)),
      await post(receiver.url, body, signedHeaders(body, { secret: `whsec_${randomBytes(24).toString('base64')}` })),
      await post(receiver.url, body, signedHeaders(body, { at: new Date(Date.now() - 10 * 60_000) })),
      await post(receiver.url, body, { 'content-type': CLOUDEVENTS_CONTENT_TYPE }),
    ];
    expect(cases.map((c) => [c.status, c.body?.error.code])).toEqual(Array(4).fill([401, 'webhook.signature_invalid']));
    expect(calls).toBe(0);

    expect((await post(receiver.url, body, signedHeaders(body, { id: event.id }))).status).toBe(204);
    expect(receiver.received).toEqual([{ event, delivery: { webhookId: event.id, timestamp: expect.any(Number) } }]);
  });

  it('answers 400 to a signed body that is not a CloudEvent, 405 to other methods', async () => {
    const receiver = await openReceiver();
    const notJson = 'hello';
    const notEvent = JSON.stringify({ hello: 'world' });
    const wrongVersion = JSON.stringify({ ...event, specversion: '0.3' });
    for (const payload of [notJson, notEvent, wrongVersion]) {
      const answer = await post(receiver.url, payload, signedHeaders(payload));
      expect([answer.status, answer.body?.error.code]).toEqual([400, 'webhook.not_cloudevent']);
    }
    const get = await fetch(receiver.url);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    expect(receiver.received).toEqual([]);
  });

  it('answers 500 when onEvent throws, so that the bus redelivers', async () => {
    let failures = 1;
    const receiver = await openReceiver({
      onEvent: () => {
        if (failures-- > 0) throw new Error('not now');
      },
    });
    const { bus } = openBus({ subscribers: [{ url: receiver.url, name: 'r' }] });
    const events = eventsFor('10.0.0.1:7777', 2);
    await bus.publish(events);
    await bus.drain();
    expect(bus.stats().r).toEqual({ delivered: 2, failedAttempts: 1, pending: 0, deadLettered: 0 });
    expect(ids(receiver.events())).toEqual(ids(events));
  });

  it('prints one line per event: time, type, subject, sequence and claim id when present, id', () => {
    const withClaim = { ...event, data: { sequence: 42, claimId: 'c-1' } };
    expect(formatEventLine(withClaim)).toBe(`${event.time} ${event.type} 10.0.0.9:7777 seq=42 claim=c-1 id=${event.id}`);
    expect(formatEventLine({ ...event, data: undefined })).toBe(`${event.time} ${event.type} 10.0.0.9:7777 id=${event.id}`);
  });

  it('shares the documented local secret: whsec_ + base64 of gs-inventory-local-webhook-secret', () => {
    expect(DEFAULT_LOCAL_WEBHOOK_SECRET).toBe('whsec_Z3MtaW52ZW50b3J5LWxvY2FsLXdlYmhvb2stc2VjcmV0');
  });
});
