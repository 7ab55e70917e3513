import { z } from 'zod';
import { LegacyStatusMessageSchema, StatusMessageV1Schema, type LegacyStatusMessage } from '../../schemas/messages';
import { EndpointSchema } from '../../schemas/primitives';
import type { LifecycleEvent, NodeEvent } from '../pods/events';
import { parsePythonLiteral } from './python-literal';

/** Everything the status queue carries. */
export type StatusEvent = LifecycleEvent | NodeEvent;

/** What the transport knows about a message (for SQS: the `SentTimestamp` attribute). */
export interface MessageEnvelope {
  body: string;
  /** Epoch milliseconds at which the queue accepted the message. */
  sentTimestamp: number;
}

export type NormalizeResult = { ok: true; event: StatusEvent } | { ok: false; reason: string };

const MAX_BODY_BYTES = 64 * 1024;

/**
 * Turns a raw queue message into our event, accepting both the v1 schema (pod and node events)
 * and, unchanged, the
 * replaced sample's messages (JSON for game servers, a Python literal for load balancers).
 *
 * Legacy mapping: the key is `private_ipv4:public_port` for game servers and
 * `public_hostname:public_port` for load balancers; the pods run with hostNetwork, so
 * `private_ipv4` is the node; the queue's SentTimestamp is both the sequence and the send time,
 * and every legacy message counts as its own pod generation (those pods send `init` once at
 * start and `terminating` once at the end, so a newer `init` means a restarted pod).
 */
export function normalizeStatusMessage(envelope: MessageEnvelope): NormalizeResult {
  if (Buffer.byteLength(envelope.body, 'utf8') > MAX_BODY_BYTES) return reject('body larger than 64 KiB');
  const parsed = parseBody(envelope.body);
  if (!parsed.ok) return parsed;
  const body = parsed.value;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return reject('body is not an object');
  if (hasProtoKey(body)) return reject('__proto__ is not a field name');

  if ('v' in body || 'kind' in body) {
    const result = StatusMessageV1Schema.safeParse(body);
    if (!result.success) return reject(describe(result.error));
    if (result.data.kind === 'node') {
      const { v: _version, sentAt, ...rest } = result.data;
      return { ok: true, event: { ...rest, sentAt: Date.parse(sentAt) } };
    }
    const { v: _version, sentAt, ...rest } = result.data;
    return { ok: true, event: { ...rest, sentAt: Date.parse(sentAt), source: 'v1' } };
  }

  const legacy = LegacyStatusMessageSchema.safeParse(body);
  if (!legacy.success) return reject(`neither a v1 event nor a legacy message: ${describe(legacy.error)}`);
  return normalizeLegacy(legacy.data, envelope.sentTimestamp);
}

/** An event whose `sentAt` is bounded by the queue's clock; `clampedByMs` > 0 when it was moved back. */
export type ClampResult = { ok: true; event: StatusEvent; clampedByMs: number } | { ok: false; reason: string };

/**
 * Bounds a v1 event's `sentAt` (the sender's own clock) by the queue's:
 * `sentAt = min(sentAt, sentTimestamp + maxClockSkewMs)`. `sentAt` orders the pods that reuse an
 * endpoint (a newer pod supersedes an older one), a node's events, and a pod against a claim; a
 * pod with a fast clock, or a sender that lies, would otherwise hold its endpoint or node against
 * every later sender until its clock's lead ran out. The skew allows for ordinary clock drift
 * between the pod and SQS (a pod sends before the queue stamps, so an honest `sentAt` is at or
 * below `sentTimestamp` but for that drift). Events of one pod stay ordered by `seq`, which this
 * never touches.
 *
 * A `sentAt` far in the past is left alone: it only makes the sender's own events look older, so
 * they lose to whatever its endpoint or node already holds (a newer pod's record, a newer node
 * state, a claim made before it), and its heartbeats count from then (`min(sentAt, now)`), so its
 * record goes stale sooner; nobody else's record changes.
 *
 * A v1 message without a usable `sentTimestamp` (not a positive integer) is refused, like a
 * legacy one: its `sentAt` cannot be bounded and no other time may stand in for the queue's.
 * SQS always stamps it, and the local transports pass it on. Legacy events already take their
 * `sentAt` from `sentTimestamp` and are returned unchanged.
 */
export function clampSentAt(event: StatusEvent, sentTimestamp: number, maxClockSkewMs: number): ClampResult {
  if (event.kind !== 'node' && event.source === 'legacy') return { ok: true, event, clampedByMs: 0 };
  if (!isSentTimestamp(sentTimestamp)) return reject('v1 message without SentTimestamp: its sentAt cannot be bounded');
  const latest = sentTimestamp + maxClockSkewMs;
  if (event.sentAt <= latest) return { ok: true, event, clampedByMs: 0 };
  return { ok: true, event: { ...event, sentAt: latest }, clampedByMs: event.sentAt - latest };
}

/** Whether the transport supplied the queue's SentTimestamp (a missing attribute arrives as NaN or 0). */
function isSentTimestamp(sentTimestamp: number): boolean {
  return Number.isSafeInteger(sentTimestamp) && sentTimestamp > 0;
}

function normalizeLegacy(message: LegacyStatusMessage, sentTimestamp: number): NormalizeResult {
  if (!isSentTimestamp(sentTimestamp)) return reject('legacy message without SentTimestamp');
  const publicEndpoint = EndpointSchema.safeParse(`${message.public_hostname}:${message.public_port}`);
  if (!publicEndpoint.success) return reject('public_hostname:public_port is not a valid endpoint');
  const common = {
    event: message.status === 'init' ? ('ready' as const) : ('terminating' as const),
    region: message.region,
    podUid: `legacy-${sentTimestamp}`,
    seq: sentTimestamp,
    sentAt: sentTimestamp,
    source: 'legacy' as const,
  };

  if (message.type === 'gs') {
    const endpoint = EndpointSchema.safeParse(`${message.private_ipv4}:${message.public_port}`);
    if (!endpoint.success) return reject('private_ipv4:public_port is not a valid endpoint');
    return {
      ok: true,
      event: {
        ...common,
        kind: 'game-server',
        endpoint: endpoint.data,
        publicEndpoint: publicEndpoint.data,
        node: message.private_ipv4,
        ...(message.group ? { group: message.group } : {}),
      },
    };
  }

  const targets = z.array(EndpointSchema).safeParse(message.endpoints ?? []);
  if (!targets.success) return reject('endpoints must be a list of host:port');
  return {
    ok: true,
    event: {
      ...common,
      kind: 'load-balancer',
      endpoint: publicEndpoint.data,
      node: message.private_ipv4 || message.public_hostname.toLowerCase(),
      targets: targets.data,
    },
  };
}

function parseBody(body: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    // The replaced load balancers send `str(dict)`: single quotes and u'' strings.
  }
  try {
    return { ok: true, value: parsePythonLiteral(body) };
  } catch (error) {
    return reject(`body is neither JSON nor a Python literal (${(error as Error).message})`);
  }
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Whether any object in the value has an own `__proto__` key. zod's records skip such keys
 * silently (`labels: {"__proto__": ...}` would become "no labels"), so they are refused up front.
 * Iterative: a 64 KiB body can nest deeper than the call stack.
 */
function hasProtoKey(value: object): boolean {
  const pending: unknown[] = [value];
  while (pending.length) {
    const current = pending.pop();
    if (typeof current !== 'object' || current === null) continue;
    if (Object.hasOwn(current, '__proto__')) return true;
    for (const child of Object.values(current)) if (typeof child === 'object' && child !== null) pending.push(child);
  }
  return false;
}

function reject(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
