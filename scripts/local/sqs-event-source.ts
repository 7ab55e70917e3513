import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context';
import { sleep } from '../../lib/backoff';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface EventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: SqsHandler;
  batchSize?: number;
  /** Long-poll wait per receive, like Lambda's poller. */
  waitTimeSeconds?: number;
  /** Parallel pollers, like Lambda's concurrent batches. */
  concurrency?: number;
  /** Per-receive visibility timeout; default (as on Lambda) the queue's own. */
  visibilityTimeoutSeconds?: number;
  onBatch?: (info: { size: number; failed: number; error?: unknown }) => void;
  awsRegion?: string;
}

/**
 * A local stand-in for Lambda's SQS event source mapping with `ReportBatchItemFailures`:
 * receives up to `batchSize` messages, invokes the handler, then deletes only the messages it
 * did not report as failed. A handler that throws fails the whole batch. Failed messages become
 * visible again after the queue's visibility timeout and, after maxReceiveCount receives, SQS
 * moves them to the dead-letter queue. (serverless-offline-sqs deletes whole batches regardless
 * of batchItemFailures, which would lose poison messages instead of dead-lettering them.)
 */
export function startSqsEventSource(options: EventSourceOptions): { stop(): Promise<void> } {
  const { sqs, queueUrl, handler, batchSize = 10, waitTimeSeconds = 1, concurrency = 1 } = options;
  let running = true;
  const abort = new AbortController();

  const loop = async () => {
    while (running) {
      let messages: Message[] = [];
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            // local-aws-sqs answers only the older parameter: without it no SentTimestamp comes
            // back, and every message (legacy ones are ordered by it, v1 ones bounded by it) would
            // be refused.
            AttributeNames: ['All'],
            MessageAttributeNames: ['All'],
            ...(options.visibilityTimeoutSeconds !== undefined ? { VisibilityTimeout: options.visibilityTimeoutSeconds } : {}),
          }),
          { abortSignal: abort.signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (!running) return;
        options.onBatch?.({ size: 0, failed: 0, error });
        await sleep(500);
        continue;
      }
      if (messages.length === 0) continue;

      const event: SQSEvent = { Records: messages.map((m) => toRecord(m, options)) };
      let failedIds: Set<string>;
      let handlerError: unknown;
      try {
        const response = await handler(event, lambdaContext('status-poller', randomUUID()));
        failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (error) {
        handlerError = error;
        failedIds = new Set(messages.map((m) => m.MessageId!));
      }
      const succeeded = messages.filter((m) => !failedIds.has(m.MessageId!));
      if (succeeded.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: succeeded.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
      options.onBatch?.({ size: messages.length, failed: failedIds.size, ...(handlerError ? { error: handlerError } : {}) });
    }
  };

  const loops = Array.from({ length: concurrency }, loop);
  return {
    async stop() {
      running = false;
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}

function toRecord(message: Message, options: EventSourceOptions): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      // Never invented: a message without it is refused (and dead-lettered), not misordered.
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn,
    awsRegion: options.awsRegion ?? 'us-east-1',
  };
}
