import type { Deps } from '../deps';
import { clampSentAt, normalizeStatusMessage, type StatusEvent } from '../messages/normalize';
import { getNodes } from '../nodes/repo';
import type { LifecycleEvent, NodeEvent } from '../pods/events';
import type { NodeRecords } from './apply-game-server';
import { applyLifecycleEvent } from './apply-lifecycle-event';
import { applyNodeEvent } from './apply-node-event';

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
  /** Accepted events whose `sentAt` lay beyond SentTimestamp + the allowed clock skew and was clamped. */
  clamped: number;
}

type Queued<E> = Array<{ messageId: string; event: E }>;

function enqueue<E>(queues: Map<string, Queued<E>>, key: string, messageId: string, event: E): void {
  const queue = queues.get(key) ?? [];
  queue.push({ messageId, event });
  queues.set(key, queue);
}

/**
 * Applies a batch of status messages. Every message is validated on its own; a malformed one is
 * logged with its id and reported as failed (it will reach the dead-letter queue) while the rest
 * of the batch is applied. A v1 event's `sentAt` is clamped to the queue's SentTimestamp plus
 * `config.maxClockSkewMs` (see clampSentAt; logged, so pods with bad clocks can be found). Node
 * events go first (one node's events one after another, nodes in parallel); then the node
 * records the pod events need are read in one round trip; then the pod events, one endpoint's
 * events one after another (they would only race each other), different endpoints in parallel.
 * A message counts as done only after its write has returned, i.e. is durable in DynamoDB.
 */
export async function processStatusBatch(deps: Deps, messages: QueueMessage[]): Promise<BatchResult> {
  const result: BatchResult = { failedMessageIds: [], applied: 0, ignored: 0, rejected: 0, clamped: 0 };
  const byEndpoint = new Map<string, Queued<LifecycleEvent>>();
  const byNode = new Map<string, Queued<NodeEvent>>();

  for (const message of messages) {
    const parsed = normalizeStatusMessage(message);
    const normalized = parsed.ok ? clampSentAt(parsed.event, message.sentTimestamp, deps.config.maxClockSkewMs) : parsed;
    if (!normalized.ok) {
      result.rejected++;
      result.failedMessageIds.push(message.messageId);
      deps.logger.warn('status message rejected', { messageId: message.messageId, reason: normalized.reason });
      continue;
    }
    const event = normalized.event;
    if (normalized.clampedByMs > 0) {
      result.clamped++;
      // How far the sender's clock ran ahead of the queue's, and how much of that was cut off.
      deps.logger.warn('event sentAt clamped', {
        messageId: message.messageId,
        ...senderOf(event),
        sentTimestamp: message.sentTimestamp,
        aheadByMs: normalized.clampedByMs + deps.config.maxClockSkewMs,
        clampedByMs: normalized.clampedByMs,
      });
    }
    if (event.kind === 'node') enqueue(byNode, event.node, message.messageId, event);
    else enqueue(byEndpoint, `${event.kind}:${event.endpoint}`, message.messageId, event);
  }

  await Promise.all(
    [...byNode.values()].map(async (events) => {
      for (const { messageId, event } of events) {
        try {
          const outcome = await applyNodeEvent(deps, event);
          if (outcome.outcome === 'ignored') result.ignored++;
          else result.applied++;
          deps.logger.debug('node event', { messageId, node: event.node, event: event.event, ...outcome });
        } catch (error) {
          result.failedMessageIds.push(messageId);
          deps.logger.error('node event failed', { messageId, node: event.node, error: error as Error });
        }
      }
    }),
  );

  const nodes = await readNodesOf(deps, [...byEndpoint.values()]);
  await Promise.all(
    [...byEndpoint.values()].map(async (events) => {
      for (const { messageId, event } of events) {
        try {
          const outcome = await applyLifecycleEvent(deps, event, nodes);
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

/** Who sent an event, for logs: the endpoint and pod, or the node. */
function senderOf(event: StatusEvent): Record<string, string> {
  return event.kind === 'node' ? { kind: event.kind, node: event.node } : { kind: event.kind, endpoint: event.endpoint, podUid: event.podUid, node: event.node };
}

/** The node records of the batch's game servers, read together (a failure only costs a read each later). */
async function readNodesOf(deps: Deps, queues: Array<Queued<LifecycleEvent>>): Promise<NodeRecords> {
  const names = queues.flatMap((queue) => queue.filter(({ event }) => event.kind === 'game-server').map(({ event }) => event.node));
  const records: NodeRecords = new Map();
  if (names.length === 0) return records;
  try {
    const found = await getNodes(deps, names);
    for (const name of names) records.set(name, found.get(name) ?? null);
  } catch (error) {
    deps.logger.warn('node records not read in bulk', { error: error as Error });
  }
  return records;
}
