import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';

/**
 * The CloudEvents 1.0 attributes a receiver relies on (structured mode: the body is the event).
 * Every notification type's own schema is stricter; this only tells an event from anything else.
 */
const ReceivedCloudEventSchema = z.looseObject({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  subject: z.string().optional(),
  time: z.string().optional(),
  data: z.unknown().optional(),
});
export type ReceivedCloudEvent = z.infer<typeof ReceivedCloudEventSchema>;

export interface WebhookDeliveryInfo {
  /** `webhook-id`: the same on every retry and redelivery of one event (deduplicate on it). */
  webhookId: string;
  /** `webhook-timestamp`, seconds: when this attempt was signed. */
  timestamp: number;
}

export interface WebhookRefusal {
  status: number;
  code: string;
  message: string;
}

/** What one request amounts to, decided from its body and headers alone. */
export type WebhookRequestVerdict =
  | { kind: 'accepted'; event: ReceivedCloudEvent; delivery: WebhookDeliveryInfo }
  | { kind: 'refused'; refusal: WebhookRefusal };

const refused = (status: number, code: string, message: string): WebhookRequestVerdict => ({ kind: 'refused', refusal: { status, code, message } });

/**
 * Verifies a request per Standard Webhooks (signature over `id.timestamp.body` with the secret,
 * timestamp within the package's 5-minute tolerance either way), then checks that the body is a
 * CloudEvent. The signature is checked first: nothing of an unsigned body is looked at.
 */
export function verifyWebhookRequest(webhook: Webhook, body: string, headers: IncomingHttpHeaders): WebhookRequestVerdict {
  const flat: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const value = headers[name];
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(' ') : value;
  }
  try {
    webhook.verify(body, flat, { jsonParse: false });
  } catch (error) {
    if (error instanceof WebhookVerificationError) return refused(401, 'webhook.signature_invalid', error.message);
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return refused(400, 'webhook.not_cloudevent', 'body is not JSON');
  }
  const event = ReceivedCloudEventSchema.safeParse(parsed);
  if (!event.success) {
    const issues = event.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
    return refused(400, 'webhook.not_cloudevent', `not a CloudEvents 1.0 event: ${issues}`);
  }
  return { kind: 'accepted', event: event.data, delivery: { webhookId: flat['webhook-id']!, timestamp: Number(flat['webhook-timestamp']) } };
}

/** One line per event: time, type, subject, `seq=` (data.sequence) and `claim=` (data.claimId) when present, id. */
export function formatEventLine(event: ReceivedCloudEvent): string {
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<string, unknown>;
  return [
    event.time ?? '-',
    event.type,
    event.subject ?? '-',
    ...(data.sequence !== undefined ? [`seq=${String(data.sequence)}`] : []),
    ...(data.claimId !== undefined ? [`claim=${String(data.claimId)}`] : []),
    `id=${event.id}`,
  ].join(' ');
}

export interface WebhookReceiverOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1: a developer tool, not reachable from elsewhere. */
  host?: string;
  /** Standard Webhooks secret, `whsec_<base64>`: the one the bus signs with. */
  secret: string;
  /** Each verified event; answered 204 once it returns (or resolves), 500 if it throws (the bus retries). */
  onEvent: (event: ReceivedCloudEvent, delivery: WebhookDeliveryInfo) => void | Promise<void>;
  /** Each refused request (already answered), e.g. to print why. */
  onRefused?: (refusal: WebhookRefusal) => void;
}

export interface WebhookReceiver {
  /** `http://host:port/`: any path is accepted. */
  url: string;
  close(): Promise<void>;
}

/** Larger bodies are refused unread (notifications are a few hundred bytes). */
const MAX_BODY_BYTES = 1024 * 1024;

class BodyTooLargeError extends Error {}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * An HTTP receiver for the bus's webhooks: POST only; 204 for a verified CloudEvent (after
 * `onEvent`), 401 for a missing or bad signature or a timestamp out of tolerance, 400 for a signed
 * body that is not a CloudEvent, 405 / 413 for other methods / bodies over 1 MB, 500 when
 * `onEvent` throws. Every refusal is `{ error: { code, message } }`, like the API's.
 */
export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const webhook = new Webhook(options.secret);
  const host = options.host ?? '127.0.0.1';

  const answer = (response: ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) {
      response.writeHead(status).end();
      return;
    }
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const refuse = (response: ServerResponse, refusal: WebhookRefusal) => {
    answer(response, refusal.status, { error: { code: refusal.code, message: refusal.message } });
    options.onRefused?.(refusal);
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      refuse(response, { status: 405, code: 'webhook.method_not_allowed', message: `${request.method} is not accepted: POST only` });
      return;
    }
    let body: string;
    try {
      body = await readBody(request);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      response.setHeader('connection', 'close');
      refuse(response, { status: 413, code: 'webhook.body_too_large', message: `body over ${MAX_BODY_BYTES} bytes` });
      return;
    }
    const verdict = verifyWebhookRequest(webhook, body, request.headers);
    if (verdict.kind === 'refused') {
      refuse(response, verdict.refusal);
      return;
    }
    try {
      await options.onEvent(verdict.event, verdict.delivery);
    } catch (error) {
      refuse(response, { status: 500, code: 'webhook.handler_failed', message: (error as Error).message });
      return;
    }
    answer(response, 204);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      // A connection reset mid-body: nothing left to answer.
      if (!response.headersSent && !response.destroyed) answer(response, 500, { error: { code: 'webhook.receiver_failed', message: error.message } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
