import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import resources from '../../infra/resources.cjs';
import { makeHandler } from '../../functions/status-poller';
import { getGameServer } from '../../lib/game-servers/records';
import { startSqsEventSource } from '../../scripts/local/sqs-event-source';
import { v1Message } from '../fixtures/events';
import { createTestStack, type TestStack } from '../setup/stack';

let t: TestStack;
beforeAll(async () => {
  t = await createTestStack();
});
afterAll(async () => t?.destroy());

async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes } = await t.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('status poller through the real local SQS queue', () => {
  it('dead-letters poison messages after maxReceiveCount while good messages in the same batches are applied exactly once', async () => {
    const good = Array.from({ length: 18 }, (_, i) => JSON.stringify(v1Message({ endpoint: `10.9.0.${i + 1}:7777`, podUid: `p${i}` })));
    const poison = ['{"v":1,"kind":"game-server","event":"ready"}', "{'type': 'gs', 'status': 'init'"];
    const bodies = [...good.slice(0, 9), poison[0]!, ...good.slice(9), poison[1]!];
    for (let i = 0; i < bodies.length; i += 10) {
      await t.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: t.stack.statusQueueUrl,
          Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(i + j), MessageBody: body })),
        }),
      );
    }

    const poller = makeHandler(t.deps);
    const deliveries = new Map<string, number>();
    const source = startSqsEventSource({
      sqs: t.sqs,
      queueUrl: t.stack.statusQueueUrl,
      queueArn: t.stack.statusQueueArn,
      visibilityTimeoutSeconds: 1,
      handler: async (event: SQSEvent, context: Context) => {
        for (const record of event.Records) deliveries.set(record.body, (deliveries.get(record.body) ?? 0) + 1);
        return poller(event, context);
      },
    });
    try {
      await waitFor(async () => (await queueDepth(t.stack.deadLetterQueueUrl)) === 2 && (await queueDepth(t.stack.statusQueueUrl)) === 0, 45_000);
    } finally {
      await source.stop();
    }

    for (const body of good) expect(deliveries.get(body)).toBe(1);
    for (const body of poison) expect(deliveries.get(body)).toBe(resources.MAX_RECEIVE_COUNT);
    const dead = await t.sqs.send(new ReceiveMessageCommand({ QueueUrl: t.stack.deadLetterQueueUrl, MaxNumberOfMessages: 10 }));
    expect((dead.Messages ?? []).map((m) => m.Body).sort()).toEqual([...poison].sort());
    for (let i = 0; i < good.length; i++) {
      expect(await getGameServer(t.deps, `10.9.0.${i + 1}:7777`)).toMatchObject({ status: 'available', version: 1 });
    }
  });

  it('leaves every message of a batch on the queue when the handler fails as a whole', async () => {
    const bodies = [0, 1, 2].map((i) => JSON.stringify(v1Message({ endpoint: `10.8.0.${i + 1}:7777` })));
    await t.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: t.stack.statusQueueUrl,
        Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })),
      }),
    );
    let attempts = 0;
    const source = startSqsEventSource({
      sqs: t.sqs,
      queueUrl: t.stack.statusQueueUrl,
      queueArn: t.stack.statusQueueArn,
      visibilityTimeoutSeconds: 1,
      handler: async () => {
        attempts++;
        throw new Error('DynamoDB unreachable');
      },
    });
    await waitFor(async () => attempts >= 1, 10_000);
    await source.stop();
    await new Promise((r) => setTimeout(r, 1500));
    const again = await t.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: t.stack.statusQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect((again.Messages ?? []).map((m) => m.Body).sort()).toEqual([...bodies].sort());
  });

  it('hands the handler the time the queue accepted each message (SentTimestamp), not the time it was received', async () => {
    // Legacy messages are ordered by SentTimestamp: an event sent before a claim must look so,
    // even when it is delivered late (here: DelaySeconds 2).
    const { QueueUrl } = await t.sqs.send(new CreateQueueCommand({ QueueName: `${t.stack.stage}-sent-timestamp` }));
    const beforeSend = Date.now();
    await t.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{}', DelaySeconds: 2 }));
    const afterSend = Date.now();
    const seen: number[] = [];
    const source = startSqsEventSource({
      sqs: t.sqs,
      queueUrl: QueueUrl!,
      queueArn: 'arn:aws:sqs:us-east-1:000000000000:sent-timestamp',
      handler: async (event: SQSEvent) => {
        seen.push(...event.Records.map((record) => Number(record.attributes.SentTimestamp)));
        return { batchItemFailures: [] };
      },
    });
    try {
      await waitFor(async () => seen.length > 0, 30_000);
    } finally {
      await source.stop();
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeGreaterThanOrEqual(beforeSend);
    expect(seen[0]).toBeLessThanOrEqual(afterSend);
  });
});
