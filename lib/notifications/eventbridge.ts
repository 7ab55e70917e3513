import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import resources from '../../infra/resources.cjs';
import type { EventPublisher, PublishedEvent } from './publisher';

/** PutEvents takes at most 10 entries per call. */
const MAX_ENTRIES = 10;

export class PublishError extends Error {
  override name = 'PublishError';
}

/**
 * The stage's EventBridge bus as the notifier's publisher: one entry per event (Source
 * `gs-inventory`, DetailType the event type, Detail the CloudEvent), sent in order, ten at a time.
 * An entry EventBridge did not accept (FailedEntryCount) fails the call: the notifier reports the
 * record as failed and the stream delivers it again (accepted entries then go twice, same id).
 */
export function eventBridgePublisher(client: EventBridgeClient, eventBusName: string): EventPublisher {
  return {
    async publish(events: readonly PublishedEvent[]) {
      for (let i = 0; i < events.length; i += MAX_ENTRIES) {
        const entries: PutEventsRequestEntry[] = events.slice(i, i + MAX_ENTRIES).map((event) => ({
          EventBusName: eventBusName,
          Source: resources.EVENT_SOURCE,
          DetailType: event.type,
          Resources: [],
          Detail: JSON.stringify(event),
          Time: new Date(event.time),
        }));
        const result = await client.send(new PutEventsCommand({ Entries: entries }));
        if ((result.FailedEntryCount ?? 0) > 0) {
          const failed = (result.Entries ?? []).find((entry) => entry.ErrorCode);
          throw new PublishError(`EventBridge refused ${result.FailedEntryCount} of ${entries.length} events: ${failed?.ErrorCode ?? 'unknown'} ${failed?.ErrorMessage ?? ''}`.trim());
        }
      }
    },
  };
}
