import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, QueueNameExists, SQSClient } from '@aws-sdk/client-sqs';
import resources, { type CfnResource } from '../../infra/resources.cjs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './services';

/**
 * Translates a CloudFormation AWS::DynamoDB::Table (as serverless.yml deploys it) into the
 * CreateTable call for DynamoDB Local. Properties that only exist on AWS (SSE, PITR, deletion
 * policy) are dropped; TTL is set by a separate call.
 */
export function createTableInput(resource: CfnResource): CreateTableCommandInput {
  const p = resource.Properties;
  return {
    TableName: p.TableName,
    BillingMode: p.BillingMode,
    AttributeDefinitions: p.AttributeDefinitions,
    KeySchema: p.KeySchema,
    ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes } : {}),
    ...(p.StreamSpecification ? { StreamSpecification: { StreamEnabled: true, ...p.StreamSpecification } } : {}),
  };
}

/** CloudFormation queue properties -> SQS CreateQueue attributes (all strings). */
export function queueAttributes(resource: CfnResource, arnOf: (logicalId: string) => string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(resource.Properties)) {
    if (key === 'QueueName' || key === 'SqsManagedSseEnabled') continue;
    if (key === 'RedrivePolicy') {
      const target = value.deadLetterTargetArn['Fn::GetAtt'][0];
      attributes[key] = JSON.stringify({ deadLetterTargetArn: arnOf(target), maxReceiveCount: value.maxReceiveCount });
    } else {
      attributes[key] = String(value);
    }
  }
  return attributes;
}

export interface ProvisionedStack {
  stage: string;
  names: ReturnType<typeof resources.physicalNames>;
  statusQueueUrl: string;
  statusQueueArn: string;
  deadLetterQueueUrl: string;
  /** Where the notifier's stream source puts the records it gives up on (its on-failure destination). */
  notifierFailureQueueUrl: string;
  /** The latest stream of each table that has one (infra/resources.cjs StreamSpecification), by physical name. */
  streamArns: Record<string, string>;
  /** Tables this call created; the others already existed and were kept as they were, with their data. */
  createdTables: string[];
  /** Deletes the stage's tables, created here or not (queues are cheap and left). */
  destroy(): Promise<void>;
}

/**
 * Creates one stage's tables and queues from infra/resources.cjs on the given (local) services,
 * each only if it is missing: an existing table or queue is used as it is, with its data.
 */
export async function provisionStage(
  stage: string,
  endpoints: { dynamodb: string; sqs: string },
): Promise<ProvisionedStack> {
  const { names, resources: all } = resources.buildResources(stage);
  const ddb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const sqs = new SQSClient({ endpoint: endpoints.sqs, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

  const createdTables: string[] = [];
  const tables = Object.values(all).filter((r) => r.Type === 'AWS::DynamoDB::Table');
  await Promise.all(
    tables.map(async (table) => {
      try {
        await ddb.send(new CreateTableCommand(createTableInput(table)));
      } catch (error) {
        // Kept from an earlier run (-dbPath) or made by another stack on a shared DynamoDB.
        if (!(error instanceof ResourceInUseException)) throw error;
        return;
      }
      createdTables.push(table.Properties.TableName);
      const ttl = table.Properties.TimeToLiveSpecification;
      if (ttl) {
        await ddb.send(
          new UpdateTimeToLiveCommand({ TableName: table.Properties.TableName, TimeToLiveSpecification: ttl }),
        );
      }
    }),
  );

  // Queues without a redrive policy (the dead-letter queues) first, so their ARNs exist.
  const queues = Object.entries(all)
    .filter(([, r]) => r.Type === 'AWS::SQS::Queue')
    .sort(([, a], [, b]) => Number('RedrivePolicy' in a.Properties) - Number('RedrivePolicy' in b.Properties));
  const urls: Record<string, string> = {};
  const arns: Record<string, string> = {};
  for (const [logicalId, queue] of queues) {
    const url = (urls[logicalId] = await createQueueIfMissing(sqs, queue.Properties.QueueName, queueAttributes(queue, (id) => arns[id]!)));
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    arns[logicalId] = attrs.Attributes!.QueueArn!;
  }
  sqs.destroy();

  const streamArns: Record<string, string> = {};
  for (const table of tables.filter((t) => t.Properties.StreamSpecification)) {
    const name: string = table.Properties.TableName;
    const described = await ddb.send(new DescribeTableCommand({ TableName: name }));
    const arn = described.Table?.LatestStreamArn;
    if (!arn) throw new Error(`table ${name} has no stream: it was made by an older version; delete it (or the data directory) and start again`);
    streamArns[name] = arn;
  }

  return {
    stage,
    names,
    statusQueueUrl: urls[resources.LOGICAL_IDS.statusQueue]!,
    statusQueueArn: arns[resources.LOGICAL_IDS.statusQueue]!,
    deadLetterQueueUrl: urls[resources.LOGICAL_IDS.statusDeadLetterQueue]!,
    notifierFailureQueueUrl: urls[resources.LOGICAL_IDS.notifierFailureQueue]!,
    streamArns,
    createdTables,
    destroy: async () => {
      await Promise.all(tables.map((t) => ddb.send(new DeleteTableCommand({ TableName: t.Properties.TableName }))));
      ddb.destroy();
    },
  };
}

/**
 * CreateQueue returns the existing queue's URL when a queue of that name has the same attributes;
 * one with other attributes (QueueNameExists, "QueueAlreadyExists" on the wire: made by another
 * version, or changed by hand) is used as it is, found by name.
 */
async function createQueueIfMissing(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  try {
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    return created.QueueUrl!;
  } catch (error) {
    if (!(error instanceof QueueNameExists)) throw error;
    const existing = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    return existing.QueueUrl!;
  }
}
