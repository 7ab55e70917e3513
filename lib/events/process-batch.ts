import type { Deps } from '../deps';
import { applyLifecycleEvent } from './apply';
import { normalizeStatusMessage, type LifecycleEvent } from './normalize';

export interface QueueMessage {
  messageId: string;
  body: string;
  /** Epoch ms at which the queue accepted the message (SQS `SentTimestamp`). */
  sentTimestamp: number;
}

export interface BatchResult {
  /** Message ids to hand back to the queue (retried, then dead-lettered). */
  failedMessageIds: string[];
  applied: number;
  ignored: number;
  rejected: number;
}

/**
 * Applies a batch of status messages. Every message is validated on its own; a malformed one is
 * logged with its id and reported as failed (it will reach the dead-letter queue) while the rest
 * of the batch is applied. Events of one endpoint are applied one after another (they would only
 * race each other); different endpoints in parallel. A message counts as done only after its
 * write has returned, i.e. is durable in DynamoDB.
 */
export async function processStatusBatch(deps: Deps, messages: QueueMessage[]): Promise<BatchResult> {
  const result: BatchResult = { failedMessageIds: [], applied: 0, ignored: 0, rejected: 0 };
  const byEndpoint = new Map<string, Array<{ messageId: string; event: LifecycleEvent }>>();

  for (const message of messages) {
    const normalized = normalizeStatusMessage(message);
    if (!normalized.ok) {
      result.rejected++;
      result.failedMessageIds.push(message.messageId);
      deps.logger.warn('status message rejected', { messageId: message.messageId, reason: normalized.reason });
      continue;
    }
    const key = `${normalized.event.kind}:${normalized.event.endpoint}`;
    const queue = byEndpoint.get(key) ?? [];
    queue.push({ messageId: message.messageId, event: normalized.event });
    byEndpoint.set(key, queue);
  }

  await Promise.all(
    [...byEndpoint.values()].map(async (events) => {
      for (const { messageId, event } of events) {
        try {
          const outcome = await applyLifecycleEvent(deps, event);
          if (outcome.outcome === 'applied') result.applied++;
          else result.ignored++;
          deps.logger.debug('status event', { messageId, kind: event.kind, endpoint: event.endpoint, event: event.event, ...outcome });
        } catch (error) {
          result.failedMessageIds.push(messageId);
          deps.logger.error('status event failed', { messageId, endpoint: event.endpoint, error: error as Error });
        }
      }
    }),
  );
  return result;
}
