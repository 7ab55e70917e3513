import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { Webhook } from 'standardwebhooks';
import { backoffDelay } from '../../lib/backoff';
import type { EventPublisher, PublishedEvent } from '../../lib/notifications/publisher';

/**
 * The documented local signing secret (Standard Webhooks form: `whsec_` + base64 of the key), the
 * default of both the local stack's bus and `npm run listen`. Local only: set
 * NOTIFY_WEBHOOK_SECRET to anything else for a receiver that is not on this machine.
 */
export const DEFAULT_LOCAL_WEBHOOK_SECRET = `whsec_${Buffer.from('gs-inventory-local-webhook-secret').toString('base64')}`;

/** Structured-mode CloudEvents over HTTP: the whole event is the body. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export interface WebhookSubscriber {
  url: string;
  /** How logs and stats() name it; the URL by default. */
  name?: string;
}

/** What the bus logs through: the stack's Powertools Logger (short lowercase messages with fields). */
export type WebhookBusLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface WebhookRetryPolicy {
  /** Cap of the first retry's delay; the cap doubles per attempt (full jitter draws from [0, cap)). */
  baseMs: number;
  maxMs: number;
  /** An event this long on the bus (since publish) is dead-lettered instead of attempted again. */
  maxAgeMs: number;
}

/** Why an event left an outbox without being delivered. */
export type DeadLetterReason = 'expired' | 'gone' | 'outbox-full';

export interface WebhookBusOptions {
  subscribers: WebhookSubscriber[];
  /** Standard Webhooks secret, `whsec_<base64>`. */
  secret: string;
  logger: WebhookBusLogger;
  retry?: Partial<WebhookRetryPolicy>;
  /** Per delivery attempt (connect, response and its body); default 5 s. */
  requestTimeoutMs?: number;
  /** Events waiting per subscriber (behind the one in flight) at most; default 100,000. */
  maxOutboxEvents?: number;
  /** Decides event age and stamps `webhook-timestamp`. Default Date.now. */
  clock?: () => number;
  /** Draws the backoff jitter. Default Math.random. */
  random?: () => number;
  /** Waits between attempts; given the bus's stop signal (a sleep that ignores it is raced against stop()). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Called once per event that will not be delivered to `subscriber` (besides the error log).
   * `lastError` is the event's last failed attempt, or, for an event never attempted (it expired
   * or was evicted while waiting), why it was given up, with the subscriber's last failure as cause.
   */
  onDeadLetter?: (event: PublishedEvent, subscriber: WebhookSubscriber, lastError: WebhookDeliveryError, reason: DeadLetterReason) => void;
}

export interface WebhookSubscriberStats {
  /** Events answered with a 2xx. */
  delivered: number;
  /** Attempts that failed (network error, timeout, non-2xx), over all events. */
  failedAttempts: number;
  /** Events not yet delivered or dead-lettered, the one in flight included. */
  pending: number;
  deadLettered: number;
}

export interface WebhookBus extends EventPublisher {
  /** Aborts in-flight requests and backoff timers; events still pending are logged and dropped. */
  stop(): Promise<void>;
  /** Resolves once every outbox is empty (each event delivered or dead-lettered); rejects on stop(). */
  drain(): Promise<void>;
  /** Per subscriber name. */
  stats(): Record<string, WebhookSubscriberStats>;
}

export type WebhookDeliveryErrorCode =
  | 'webhook.network'
  | 'webhook.timeout'
  | 'webhook.status'
  | 'webhook.expired'
  | 'webhook.outbox_full';

export class WebhookDeliveryError extends Error {
  override name = 'WebhookDeliveryError';
  constructor(
    readonly code: WebhookDeliveryErrorCode,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = { baseMs: 500, maxMs: 60_000, maxAgeMs: 24 * 60 * 60 * 1000 };
export const DEFAULT_WEBHOOK_REQUEST_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_OUTBOX_EVENTS = 100_000;

/** What one attempt's response means for its event. */
export type AttemptOutcome = 'delivered' | 'retry' | 'gone';

/**
 * 2xx delivers. 410 Gone is the receiver saying this endpoint is removed: the event is
 * dead-lettered at once instead of retried for a day (the next event is still attempted, so a
 * receiver that comes back on the same URL gets what follows). Every other status, redirects
 * included (they are not followed), is retried.
 */
export function outcomeOfStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'delivered';
  return status === 410 ? 'gone' : 'retry';
}

interface Delivery {
  event: PublishedEvent;
  /** The body, serialized once at publish and sent byte for byte on every attempt. */
  payload: string;
  /** By the bus clock: the event's age counts from here, as on EventBridge. */
  acceptedAt: number;
  attempts: number;
  lastError?: WebhookDeliveryError;
}

/** A FIFO with O(1) shift: an outbox may hold 10^5 events behind a dead webhook. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact once the consumed prefix is most of the array: amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

interface Outbox {
  subscriber: WebhookSubscriber;
  name: string;
  waiting: Fifo<Delivery>;
  /** Taken off `waiting` and being attempted (or waiting out its backoff). */
  current: Delivery | undefined;
  delivered: number;
  failedAttempts: number;
  deadLettered: number;
  lastFailure: WebhookDeliveryError | undefined;
  /**
   * Whether the outbox's delivery loop runs: at most one per outbox, which is what keeps the
   * order. Set and cleared synchronously (by startDelivery and the loop's exit), so an event
   * published just as the loop exits starts a new one.
   */
  active: boolean;
  /** The latest loop, for stop() to wait on. */
  running: Promise<void>;
}

type AttemptResult =
  | { kind: 'answered'; status: number; outcome: AttemptOutcome; latencyMs: number; error?: WebhookDeliveryError }
  | { kind: 'failed'; latencyMs: number; error: WebhookDeliveryError }
  | { kind: 'stopped' };

const abortableSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);

/**
 * The local stand-in for the stage's EventBridge bus: delivers every published event to each
 * subscriber's webhook, signed per Standard Webhooks. (EventBridge API destinations and their
 * retry policy are the AWS side; nothing off the shelf gives this in process, hence our own.)
 *
 * - `publish` serializes the events, appends them to each subscriber's own outbox and resolves at
 *   once: a slow or dead webhook never blocks the notifier, other subscribers, ingestion or
 *   claims. It rejects, accepting none, if an event cannot be serialized or the bus is stopped.
 * - Each outbox is delivered in order, one request at a time: an event is attempted only after
 *   every earlier event for that subscriber was delivered or dead-lettered. Per subject (server),
 *   the notifier publishes in order, so subscribers receive each server's events in order, also
 *   through failures and retries.
 * - An attempt fails on a network error, after `requestTimeoutMs`, or on a non-2xx answer; the
 *   event is retried after `backoffDelay(attempt)` with full jitter (never waiting past its max
 *   age). 410 Gone dead-letters the event at once (outcomeOfStatus).
 * - An event `maxAgeMs` old (since publish; default 24 h, EventBridge's default retry window) is
 *   not attempted again: it is dead-lettered, i.e. logged at error level with the whole event
 *   and handed to `onDeadLetter`. Events that waited behind a failing one expire the same way,
 *   without an attempt. Nothing leaves an outbox silently.
 * - Memory is bounded: past `maxOutboxEvents` waiting events, the oldest waiting ones are
 *   dead-lettered ('outbox-full'); the one in flight is left to finish.
 * - Every request is a POST of the CloudEvent JSON (structured mode) with headers `webhook-id`
 *   (the event id: the same on every retry and redelivery, for the receiver's deduplication),
 *   `webhook-timestamp` (this attempt, seconds by the bus clock) and `webhook-signature`.
 * - Each attempt is logged: info when delivered, warn when failed (with the retry delay).
 * - Delivery is at least once: an attempt that times out after the receiver took the event is
 *   retried, so a receiver deduplicates on `webhook-id`. With no subscribers, publish accepts and
 *   delivers nothing (a bus without rules).
 * - stop() aborts requests in flight and backoff timers; what is still pending is logged (warn,
 *   per subscriber) and dropped: the outboxes live in this process only.
 */
export function createWebhookBus(options: WebhookBusOptions): WebhookBus {
  const { logger } = options;
  const retry: WebhookRetryPolicy = { ...DEFAULT_WEBHOOK_RETRY, ...options.retry };
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_WEBHOOK_REQUEST_TIMEOUT_MS;
  const maxOutboxEvents = options.maxOutboxEvents ?? DEFAULT_MAX_OUTBOX_EVENTS;
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;
  const webhook = new Webhook(options.secret);

  const outboxes: Outbox[] = [];
  for (const subscriber of options.subscribers) {
    const url = new URL(subscriber.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`webhook ${subscriber.url}: not an http(s) URL`);
    const name = subscriber.name ?? subscriber.url;
    if (outboxes.some((o) => o.name === name)) throw new Error(`webhook subscriber named twice: ${name}`);
    outboxes.push({
      subscriber,
      name,
      waiting: new Fifo(),
      current: undefined,
      delivered: 0,
      failedAttempts: 0,
      deadLettered: 0,
      lastFailure: undefined,
      active: false,
      running: Promise.resolve(),
    });
  }

  const stopping = new AbortController();
  const stopped = new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));
  const drains: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  const pendingOf = (outbox: Outbox) => outbox.waiting.length + (outbox.current ? 1 : 0);
  const settleDrains = () => {
    if (drains.length === 0 || outboxes.some((o) => pendingOf(o) > 0)) return;
    for (const drain of drains.splice(0)) drain.resolve();
  };

  const eventFields = (event: PublishedEvent) => ({ eventId: event.id, type: event.type, subject: event.subject });

  function deadLetter(outbox: Outbox, delivery: Delivery, reason: DeadLetterReason, lastError: WebhookDeliveryError): void {
    outbox.deadLettered += 1;
    logger.error('webhook event dead-lettered', {
      subscriber: outbox.name,
      url: outbox.subscriber.url,
      reason,
      ...eventFields(delivery.event),
      attempts: delivery.attempts,
      ageMs: clock() - delivery.acceptedAt,
      error: lastError,
      event: delivery.event,
    });
    try {
      options.onDeadLetter?.(delivery.event, outbox.subscriber, lastError, reason);
    } catch (error) {
      logger.error('webhook dead-letter handler failed', { subscriber: outbox.name, eventId: delivery.event.id, error });
    }
  }

  /** Why an event that was never attempted is given up: the subscriber's last failure is why it waited. */
  const givenUpError = (outbox: Outbox, code: 'webhook.expired' | 'webhook.outbox_full', message: string) =>
    new WebhookDeliveryError(code, message, undefined, outbox.lastFailure ? { cause: outbox.lastFailure } : undefined);

  /** One POST. Never throws: the outcome is a value, and stop() ends it as 'stopped'. */
  async function attempt(outbox: Outbox, delivery: Delivery): Promise<AttemptResult> {
    const { event, payload } = delivery;
    const now = clock();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), requestTimeoutMs);
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    try {
      const response = await fetch(outbox.subscriber.url, {
        method: 'POST',
        headers: {
          'content-type': CLOUDEVENTS_CONTENT_TYPE,
          'webhook-id': event.id,
          'webhook-timestamp': String(Math.floor(now / 1000)),
          'webhook-signature': webhook.sign(event.id, new Date(now), payload),
          'user-agent': 'gs-inventory-webhook-bus',
        },
        body: payload,
        redirect: 'manual',
        signal: AbortSignal.any([stopping.signal, timeout.signal]),
      });
      const outcome = outcomeOfStatus(response.status);
      if (outcome === 'delivered') {
        await response.body?.cancel();
        return { kind: 'answered', status: response.status, outcome, latencyMs: latency() };
      }
      // The start of the answer helps whoever runs the receiver; the body read is under the same timeout.
      const answer = (await response.text()).slice(0, 200);
      const error = new WebhookDeliveryError('webhook.status', `answered ${response.status}${answer ? `: ${answer}` : ''}`, response.status);
      return { kind: 'answered', status: response.status, outcome, latencyMs: latency(), error };
    } catch (error) {
      if (stopping.signal.aborted) return { kind: 'stopped' };
      if (timeout.signal.aborted) {
        return { kind: 'failed', latencyMs: latency(), error: new WebhookDeliveryError('webhook.timeout', `no answer within ${requestTimeoutMs} ms`) };
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const message = cause?.code ?? cause?.message ?? (error as Error).message;
      return { kind: 'failed', latencyMs: latency(), error: new WebhookDeliveryError('webhook.network', message, undefined, { cause: error }) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves after `ms`, or at once on stop(). */
  const pause = (ms: number) => Promise.race([sleep(ms, stopping.signal), stopped]);

  /** The outbox's one delivery loop: head first, until the outbox is empty or the bus stops. */
  async function deliverOutbox(outbox: Outbox): Promise<void> {
    while (!stopping.signal.aborted) {
      const delivery = outbox.current ?? outbox.waiting.shift();
      if (!delivery) break;
      outbox.current = delivery;
      const ageMs = clock() - delivery.acceptedAt;
      if (ageMs >= retry.maxAgeMs) {
        const error = delivery.lastError ?? givenUpError(outbox, 'webhook.expired', `expired after ${ageMs} ms waiting behind earlier events`);
        outbox.current = undefined;
        deadLetter(outbox, delivery, 'expired', error);
        settleDrains();
        continue;
      }
      delivery.attempts += 1;
      const result = await attempt(outbox, delivery);
      if (result.kind === 'stopped') break;
      const fields = { subscriber: outbox.name, ...eventFields(delivery.event), attempt: delivery.attempts, latencyMs: result.latencyMs };
      if (result.kind === 'answered' && result.outcome === 'delivered') {
        outbox.delivered += 1;
        outbox.current = undefined;
        logger.info('webhook event delivered', { ...fields, status: result.status });
        settleDrains();
        continue;
      }
      const error = result.error!;
      outbox.failedAttempts += 1;
      outbox.lastFailure = error;
      delivery.lastError = error;
      const status = result.kind === 'answered' ? { status: result.status } : {};
      if (result.kind === 'answered' && result.outcome === 'gone') {
        logger.warn('webhook delivery failed', { ...fields, ...status, code: error.code, error: error.message });
        outbox.current = undefined;
        deadLetter(outbox, delivery, 'gone', error);
        settleDrains();
        continue;
      }
      // Never sleep past the event's max age: it is dead-lettered when it reaches it, not later.
      const untilExpiry = delivery.acceptedAt + retry.maxAgeMs - clock();
      const retryInMs = Math.max(0, Math.round(Math.min(backoffDelay(delivery.attempts, { ...retry, jitter: 'full' }, random), untilExpiry)));
      logger.warn('webhook delivery failed', { ...fields, ...status, code: error.code, error: error.message, retryInMs });
      await pause(retryInMs);
    }
    outbox.active = false;
  }

  function startDelivery(outbox: Outbox): void {
    if (outbox.active) return;
    outbox.active = true;
    outbox.running = deliverOutbox(outbox);
  }

  return {
    async publish(events) {
      if (stopping.signal.aborted) throw new Error('webhook bus stopped: events not accepted');
      // Serialize all first: either every event is accepted, or none (and the caller retries them all).
      const payloads = events.map((event) => JSON.stringify(event));
      const acceptedAt = clock();
      for (const outbox of outboxes) {
        events.forEach((event, i) => outbox.waiting.push({ event, payload: payloads[i]!, acceptedAt, attempts: 0 }));
        // Bound memory: evict the oldest waiting events (never the one in flight).
        while (outbox.waiting.length > maxOutboxEvents) {
          const evicted = outbox.waiting.shift()!;
          deadLetter(outbox, evicted, 'outbox-full', givenUpError(outbox, 'webhook.outbox_full', `outbox over ${maxOutboxEvents} events: oldest evicted`));
        }
        startDelivery(outbox);
      }
    },

    async stop() {
      if (!stopping.signal.aborted) {
        stopping.abort();
        for (const outbox of outboxes) {
          const pending = pendingOf(outbox);
          if (pending > 0) logger.warn('webhook bus stopped with events pending', { subscriber: outbox.name, pending });
        }
        for (const drain of drains.splice(0)) drain.reject(new Error('webhook bus stopped before its outboxes were empty'));
      }
      await Promise.all(outboxes.map((o) => o.running));
    },

    drain() {
      if (stopping.signal.aborted && outboxes.some((o) => pendingOf(o) > 0)) {
        return Promise.reject(new Error('webhook bus stopped before its outboxes were empty'));
      }
      return new Promise<void>((resolve, reject) => {
        drains.push({ resolve, reject });
        settleDrains();
      });
    },

    stats() {
      return Object.fromEntries(
        outboxes.map((o) => [o.name, { delivered: o.delivered, failedAttempts: o.failedAttempts, pending: pendingOf(o), deadLettered: o.deadLettered }]),
      );
    },
  };
}
