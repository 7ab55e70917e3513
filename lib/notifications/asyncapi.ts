import { z } from 'zod';
import { cloudEventSchema, dataSchemaUri, EVENT_DESCRIPTIONS, EVENT_SCHEMA_VERSION, EVENT_TYPES } from '../../schemas/events';

type JsonSchema = Record<string, unknown>;

const schemaOf = (schema: z.ZodType): JsonSchema => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

/** The Standard Webhooks headers of a delivery to a local webhook (README "Notifications"). */
const WEBHOOK_HEADERS = {
  type: 'object',
  properties: {
    'webhook-id': { type: 'string', description: "The event's id: the same on every retry and redelivery" },
    'webhook-timestamp': { type: 'string', description: 'Seconds since the epoch, of this attempt' },
    'webhook-signature': { type: 'string', description: '`v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>` with the shared secret' },
  },
};

/**
 * The AsyncAPI 3.0 document of the notifications: one message per event type, its payload the
 * CloudEvents envelope with that type's data (JSON Schema generated from schemas/events.ts, the
 * same schemas the notifier's events are tested against). Served at GET /events/asyncapi.json.
 */
export function buildAsyncApiDocument(): Record<string, unknown> {
  const messages = Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      {
        name: type,
        title: type,
        summary: EVENT_DESCRIPTIONS[type],
        contentType: 'application/cloudevents+json',
        headers: WEBHOOK_HEADERS,
        payload: schemaOf(cloudEventSchema(type)),
        externalDocs: { url: 'https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md', description: `CloudEvents 1.0 JSON; dataschema ${dataSchemaUri(type)}` },
      },
    ]),
  );
  const refs = EVENT_TYPES.map((type) => ({ $ref: `#/components/messages/${type}` }));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Game-server inventory notifications',
      version: `1.0.0`,
      description:
        `Every change a claim holder cares about, as a CloudEvents 1.0 event (JSON structured mode), data schemas ${EVENT_SCHEMA_VERSION}. ` +
        'At least once, in order per server: an event may come twice (same `id`); per server (`subject`) the notifier publishes in the order of the table\'s stream, and `data.sequence` (the record\'s version) only grows, so a subscriber that drops anything not newer than what it has seen per server never goes back to an older state.',
    },
    defaultContentType: 'application/cloudevents+json',
    channels: {
      notifications: {
        address: 'gs-inventory',
        title: 'Lifecycle notifications',
        description: 'On AWS: the EventBridge bus gs-inventory-<stage> (source `gs-inventory`, detail-type the event type, detail the CloudEvent), delivered to webhooks through API destinations and to SQS queues. Locally: signed webhook POSTs (Standard Webhooks).',
        messages: Object.fromEntries(EVENT_TYPES.map((type) => [type, { $ref: `#/components/messages/${type}` }])),
      },
    },
    operations: {
      receiveNotifications: {
        action: 'receive',
        title: 'Receive lifecycle notifications',
        channel: { $ref: '#/channels/notifications' },
        messages: refs.map((ref) => ({ $ref: ref.$ref.replace('#/components/messages/', '#/channels/notifications/messages/') })),
      },
    },
    components: { messages },
  };
}
