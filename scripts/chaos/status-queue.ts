import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MessageFormat, MessageReason, SentMessage } from './types';

export interface OutgoingMessage {
  body: string;
  format: MessageFormat;
  endpoint?: string;
  reason: MessageReason;
  delaySeconds?: number;
}

/** Queue-side faults and events sent, by kind (the report's "queue" row). */
export interface QueueCounters {
  messages: number;
  duplicates: number;
  delayed: number;
  lateCopies: number;
  legacyInitCopies: number;
  podRestarts: number;
  poison: number;
}

/**
 * The status queue as the pods use it (straight to SQS, not through the fault proxy), recording
 * every message with its id and the SendMessage call's start and end (SQS stamps SentTimestamp
 * in between).
 */
export class StatusQueue {
  readonly sent: SentMessage[] = [];
  readonly counters: QueueCounters = { messages: 0, duplicates: 0, delayed: 0, lateCopies: 0, legacyInitCopies: 0, podRestarts: 0, poison: 0 };
  /** Latest time a delayed message becomes visible. */
  lastVisibleAt = 0;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(messages: OutgoingMessage[]): Promise<SentMessage[]> {
    const recorded: SentMessage[] = [];
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      const sendStart = Date.now();
      const result = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((message, j) => ({ Id: String(j), MessageBody: message.body, ...(message.delaySeconds ? { DelaySeconds: message.delaySeconds } : {}) })),
        }),
      );
      const sendEnd = Date.now();
      if (result.Failed?.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(result.Failed)}`);
      for (const entry of result.Successful ?? []) {
        const message = chunk[Number(entry.Id)]!;
        const delaySeconds = message.delaySeconds ?? 0;
        const sent: SentMessage = {
          messageId: entry.MessageId!,
          body: message.body,
          format: message.format,
          ...(message.endpoint !== undefined ? { endpoint: message.endpoint } : {}),
          reason: message.reason,
          delaySeconds,
          sendStart,
          sendEnd,
        };
        this.sent.push(sent);
        recorded.push(sent);
        this.count(message);
        this.lastVisibleAt = Math.max(this.lastVisibleAt, sendEnd + delaySeconds * 1000);
      }
    }
    return recorded;
  }

  private count(message: OutgoingMessage): void {
    this.counters.messages++;
    if (message.delaySeconds) this.counters.delayed++;
    if (message.reason === 'duplicate') this.counters.duplicates++;
    if (message.reason === 'late-copy') this.counters.lateCopies++;
    if (message.reason === 'init-copy') this.counters.legacyInitCopies++;
    if (message.reason === 'restart') this.counters.podRestarts++;
    if (message.reason === 'poison') this.counters.poison++;
  }
}
