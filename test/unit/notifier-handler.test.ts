import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/notifier';
import { createDeps } from '../../lib/deps';
import { loadConfig } from '../../lib/config';
import type { PublishedEvent } from '../../lib/notifications/publisher';
import type { GameServerItem } from '../../schemas/items';

const config = loadConfig({ STAGE: 'unit' });
const streamArn = `arn:aws:dynamodb:us-east-1:123456789012:table/${config.tables.gameServers}/stream/2026-11-26T00:00:00.000`;
const T = Date.parse('2026-11-26T12:00:00Z');

const server = (endpoint: string): GameServerItem => ({
  endpoint,
  region: 'us-west',
  node: 'node-a',
  phase: 'active',
  source: 'v1',
  podUid: `pod-${endpoint}`,
  seq: 1,
  sentAt: T,
  lastEvent: 'ready',
  lastHeartbeatAt: T,
  freshUntil: T + 30_000,
  version: 1,
  updatedAt: T,
  status: 'available',
  availableAt: 0.5,
  availAll: 'all#0',
  availRegion: 'us-west#0',
});

const record = (sequenceNumber: string, item: Record<string, unknown>): DynamoDBRecord => ({
  eventName: 'INSERT',
  eventSource: 'aws:dynamodb',
  eventSourceARN: streamArn,
  dynamodb: { SequenceNumber: sequenceNumber, Keys: { endpoint: { S: String(item.endpoint) } }, NewImage: marshall(item) as never, StreamViewType: 'NEW_AND_OLD_IMAGES' },
});

function notifier() {
  const published: PublishedEvent[] = [];
  const handler = makeHandler(createDeps({ config }), { publish: async (events) => void published.push(...events) });
  const invoke = (records: DynamoDBRecord[]) => handler({ Records: records }, { awsRequestId: 'r', functionName: 'notifier' } as Context);
  return { published, invoke };
}

describe('the notifier handler', () => {
  it('publishes every record in order and reports no failure', async () => {
    const { published, invoke } = notifier();
    expect(await invoke([record('1', server('10.0.0.1:7777')), record('2', server('10.0.0.2:7777'))])).toEqual({ batchItemFailures: [] });
    expect(published.map((e) => e.subject)).toEqual(['10.0.0.1:7777', '10.0.0.2:7777']);
  });

  it('names the first record it could not publish, after publishing those before it', async () => {
    const { published, invoke } = notifier();
    const result = await invoke([record('1', server('10.0.0.1:7777')), record('2', { endpoint: 'poison' }), record('3', server('10.0.0.3:7777'))]);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '2' }] });
    expect(published.map((e) => e.subject)).toEqual(['10.0.0.1:7777']);
  });

  it('fails the invocation when its batch starts with an unreadable record, so the event source bisects it away', async () => {
    const { published, invoke } = notifier();
    await expect(invoke([record('2', { endpoint: 'poison' }), record('3', server('10.0.0.3:7777'))])).rejects.toThrow(/not a game-server record \(poison\)/);
    expect(published).toEqual([]);
  });

  it('reports a refused publish as a partial failure, even first in its batch (the next delivery may succeed)', async () => {
    const handler = makeHandler(createDeps({ config }), { publish: async () => Promise.reject(new Error('bus unavailable')) });
    const result = await handler({ Records: [record('7', server('10.0.0.7:7777'))] }, { awsRequestId: 'r', functionName: 'notifier' } as Context);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '7' }] });
  });
});
