import { randomBytes } from 'node:crypto';
import { DeleteTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import resources from '../../infra/resources.cjs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../scripts/local/stack';
import { v1Message } from '../fixtures/events';

// The services global setup started stand in for ones running before `npm start` (a shared
// DynamoDB Local, a fault proxy): the stacks here must use them and never stop them.
const dynamodbEndpoint = inject('dynamodbEndpoint');
const sqsEndpoint = inject('sqsEndpoint');
const ddb = new DynamoDBClient({ endpoint: dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
const sqs = new SQSClient({ endpoint: sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

const started: LocalStack[] = [];
const stagesOnSharedDynamodb = new Set<string>();

async function start(stage: string, env: LocalStackOptions['env']): Promise<LocalStack> {
  const stack = await startLocalStack({ port: 0, stage, env, logLevel: 'ERROR' });
  started.push(stack);
  if (stack.services.external.dynamodb) stagesOnSharedDynamodb.add(stage);
  return stack;
}

/** Stops a stack inside a test (afterEach stops the rest). */
async function stop(stack: LocalStack): Promise<void> {
  started.splice(started.indexOf(stack), 1);
  await stack.stop();
}

afterEach(async () => {
  for (const stack of started.splice(0)) await stack.stop();
});
afterAll(async () => {
  // Leave the shared DynamoDB Local as we found it.
  const ours = [...stagesOnSharedDynamodb].flatMap(tableNames);
  await Promise.all(ours.map((TableName) => ddb.send(new DeleteTableCommand({ TableName })).catch(ignoreMissingTable)));
  ddb.destroy();
  sqs.destroy();
});

function ignoreMissingTable(error: unknown): undefined {
  if (error instanceof ResourceNotFoundException) return undefined;
  throw error;
}

const newStage = () => `x${randomBytes(5).toString('hex')}`;

function tableNames(stage: string): string[] {
  return Object.values(resources.buildResources(stage).resources)
    .filter((r) => r.Type === 'AWS::DynamoDB::Table')
    .map((r) => r.Properties.TableName as string)
    .sort();
}

/** The stage's tables that exist on the shared DynamoDB (ListTables pages at 100: every test file's tables are there). */
async function tablesOnSharedDynamodb(stage: string): Promise<string[]> {
  const found = await Promise.all(
    tableNames(stage).map((TableName) =>
      ddb.send(new DescribeTableCommand({ TableName })).then(() => TableName, ignoreMissingTable),
    ),
  );
  return found.filter((name): name is string => name !== undefined);
}

async function queueUrlOnSharedSqs(stage: string): Promise<string | undefined> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: resources.physicalNames(stage).statusQueue }));
  return QueueUrl;
}

async function getServer(stack: LocalStack, endpoint: string) {
  const response = await fetch(`${stack.apiUrl}/gs/${encodeURIComponent(endpoint)}`, {
    headers: { authorization: 'Bearer mm-local-key' },
  });
  return { status: response.status, body: (await response.json()) as { endpoint?: string; status?: string } };
}

/** Sends a `ready` event for `endpoint` to the stack's queue and waits until the API shows it. */
async function registerThroughQueue(stack: LocalStack, endpoint: string) {
  await stack.sqs.send(
    new SendMessageCommand({
      QueueUrl: stack.stack.statusQueueUrl,
      MessageBody: JSON.stringify(v1Message({ endpoint, podUid: `pod-${endpoint}`, sentAt: new Date().toISOString() })),
    }),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = await getServer(stack, endpoint);
    if (found.status === 200 || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Tests that start DynamoDB Local or local SQS themselves get room for a slow start on a busy machine.
const STARTS_A_SERVICE = { timeout: 180_000 };

describe('npm start against services already running', () => {
  it('with DYNAMODB_ENDPOINT and SQS_ENDPOINT set it starts no services and uses the given ones', async () => {
    const stage = newStage();
    const stack = await start(stage, { DYNAMODB_ENDPOINT: dynamodbEndpoint, SQS_ENDPOINT: sqsEndpoint });

    expect(stack.services.pids).toEqual([]);
    expect(stack.services.external).toEqual({ dynamodb: true, sqs: true });
    expect(stack.services.dynamodbEndpoint).toBe(dynamodbEndpoint);
    expect(stack.services.sqsEndpoint).toBe(sqsEndpoint);
    expect(stack.stack.createdTables.sort()).toEqual(tableNames(stage));
    expect(await tablesOnSharedDynamodb(stage)).toEqual(tableNames(stage));
    expect(await queueUrlOnSharedSqs(stage)).toBe(stack.stack.statusQueueUrl);

    const server = await registerThroughQueue(stack, '10.9.0.1:7777');
    expect(server).toEqual({ status: 200, body: expect.objectContaining({ endpoint: '10.9.0.1:7777', status: 'available' }) });
  });

  it('a second start against the same services keeps existing tables and their data', async () => {
    const stage = newStage();
    const env = { DYNAMODB_ENDPOINT: dynamodbEndpoint, SQS_ENDPOINT: sqsEndpoint };
    const first = await start(stage, env);
    expect((await registerThroughQueue(first, '10.9.0.2:7777')).status).toBe(200);
    await stop(first);

    const second = await start(stage, env);
    expect(second.stack.createdTables).toEqual([]);
    expect(second.stack.statusQueueUrl).toBe(first.stack.statusQueueUrl);
    expect(await getServer(second, '10.9.0.2:7777')).toEqual({
      status: 200,
      body: expect.objectContaining({ endpoint: '10.9.0.2:7777', status: 'available' }),
    });
  });

  it('uses an existing queue whose attributes differ (QueueAlreadyExists) instead of failing', async () => {
    const stage = newStage();
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: resources.physicalNames(stage).statusQueue, Attributes: { VisibilityTimeout: '7' } }),
    );
    const stack = await start(stage, { DYNAMODB_ENDPOINT: dynamodbEndpoint, SQS_ENDPOINT: sqsEndpoint });

    expect(stack.stack.statusQueueUrl).toBe(QueueUrl);
    expect((await registerThroughQueue(stack, '10.9.0.3:7777')).status).toBe(200);
  });

  it('stop() leaves the external services running, with the stage\'s tables and queue', async () => {
    const stage = newStage();
    const stack = await start(stage, { DYNAMODB_ENDPOINT: dynamodbEndpoint, SQS_ENDPOINT: sqsEndpoint });
    const queueUrl = stack.stack.statusQueueUrl;
    await stop(stack);

    expect(await tablesOnSharedDynamodb(stage)).toEqual(tableNames(stage));
    expect(await queueUrlOnSharedSqs(stage)).toBe(queueUrl);
  });

  it('with only SQS_ENDPOINT set it starts DynamoDB Local only, and stop() ends just that', STARTS_A_SERVICE, async () => {
    const stage = newStage();
    const stack = await start(stage, { DYNAMODB_ENDPOINT: undefined, SQS_ENDPOINT: sqsEndpoint });

    expect(stack.services.external).toEqual({ dynamodb: false, sqs: true });
    expect(stack.services.pids).toHaveLength(1);
    expect(stack.services.dynamodbEndpoint).not.toBe(dynamodbEndpoint);
    expect(stack.services.sqsEndpoint).toBe(sqsEndpoint);
    expect(await tablesOnSharedDynamodb(stage)).toEqual([]);
    expect(await queueUrlOnSharedSqs(stage)).toBe(stack.stack.statusQueueUrl);
    expect((await registerThroughQueue(stack, '10.9.0.4:7777')).status).toBe(200);

    const [dynamodbPid] = stack.services.pids;
    await stop(stack);
    expect(isRunning(dynamodbPid!)).toBe(false);
    expect(await queueUrlOnSharedSqs(stage)).toBe(stack.stack.statusQueueUrl);
  });

  it('with only DYNAMODB_ENDPOINT set it starts local SQS only, and stop() ends just that', STARTS_A_SERVICE, async () => {
    const stage = newStage();
    const stack = await start(stage, { DYNAMODB_ENDPOINT: dynamodbEndpoint, SQS_ENDPOINT: undefined });

    expect(stack.services.external).toEqual({ dynamodb: true, sqs: false });
    expect(stack.services.pids).toHaveLength(1);
    expect(stack.services.sqsEndpoint).not.toBe(sqsEndpoint);
    expect(await tablesOnSharedDynamodb(stage)).toEqual(tableNames(stage));
    expect((await registerThroughQueue(stack, '10.9.0.5:7777')).status).toBe(200);

    const [sqsPid] = stack.services.pids;
    await stop(stack);
    expect(isRunning(sqsPid!)).toBe(false);
    expect(await tablesOnSharedDynamodb(stage)).toEqual(tableNames(stage));
  });
});
