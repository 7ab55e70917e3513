// One source of truth for the stateful resources (DynamoDB tables, SQS queues).
// serverless.yml resolves it through `${file(./infra/resources.cjs):...}`; the local stack and the
// tests build their tables and queues from the very same definitions (see lib/local/provision.ts),
// so the local and the deployed shapes cannot drift apart.
'use strict';

const LOGICAL_IDS = {
  gameServerTable: 'GameServerStatusTable',
  loadBalancerTable: 'LoadBalancerStatusTable',
  claimTable: 'GameServerClaimsTable',
  nodeTable: 'NodeStatusTable',
  statusQueue: 'StatusQueue',
  statusDeadLetterQueue: 'StatusDeadLetterQueue',
  deadLetterAlarm: 'StatusDeadLetterQueueAlarm',
  alarmTopic: 'AlarmTopic',
};

/** Attempts before SQS moves a message to the dead-letter queue. */
const MAX_RECEIVE_COUNT = 5;
/** Must exceed the poller's timeout (AWS recommends 6x the function timeout). */
const STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS = 60;

/** Physical names: the public contract names plus a stage suffix. */
function physicalNames(stage) {
  return {
    gameServerTable: `game-server-status-by-endpoint-${stage}`,
    loadBalancerTable: `lb-status-by-endpoint-${stage}`,
    claimTable: `game-server-claims-${stage}`,
    nodeTable: `node-status-by-name-${stage}`,
    statusQueue: `game-server-status-events-${stage}`,
    statusDeadLetterQueue: `game-server-status-events-dlq-${stage}`,
  };
}

const str = (name) => ({ AttributeName: name, AttributeType: 'S' });
const num = (name) => ({ AttributeName: name, AttributeType: 'N' });
const hash = (name) => ({ AttributeName: name, KeyType: 'HASH' });
const range = (name) => ({ AttributeName: name, KeyType: 'RANGE' });

/**
 * Game-server availability indexes. Each is keyed by a pool (all / region / region+group) plus a
 * write shard, and sorted by `availableAt`: the time from which the server may be claimed
 * (ready/release time, the lease expiry of a claimed server, or "never" for busy, draining and
 * terminated servers). A query `availableAt <= now` therefore returns exactly the claimable
 * servers, lease-expired ones included, without a background job.
 */
const AVAILABILITY_INDEXES = {
  all: { indexName: 'available-all', partitionKey: 'availAll' },
  region: { indexName: 'available-by-region', partitionKey: 'availRegion' },
  group: { indexName: 'available-by-group', partitionKey: 'availGroup' },
};
const NODE_INDEX = { indexName: 'by-node', partitionKey: 'node', sortKey: 'endpoint' };
const LB_INDEXES = {
  fleet: { indexName: 'by-fleet', partitionKey: 'fleet', sortKey: 'lastHeartbeatAt' },
  region: { indexName: 'by-region', partitionKey: 'region', sortKey: 'lastHeartbeatAt' },
};
const TTL_ATTRIBUTE = 'expiresAt';

function tables(stage) {
  const names = physicalNames(stage);
  const availabilityGsi = ({ indexName, partitionKey }) => ({
    IndexName: indexName,
    KeySchema: [hash(partitionKey), range('availableAt')],
    Projection: { ProjectionType: 'ALL' },
  });
  return {
    [LOGICAL_IDS.gameServerTable]: {
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        TableName: names.gameServerTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          str('endpoint'),
          str('availAll'),
          str('availRegion'),
          str('availGroup'),
          num('availableAt'),
          str('node'),
        ],
        KeySchema: [hash('endpoint')],
        GlobalSecondaryIndexes: [
          ...Object.values(AVAILABILITY_INDEXES).map(availabilityGsi),
          {
            IndexName: NODE_INDEX.indexName,
            KeySchema: [hash(NODE_INDEX.partitionKey), range(NODE_INDEX.sortKey)],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    },
    [LOGICAL_IDS.loadBalancerTable]: {
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        TableName: names.loadBalancerTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [str('endpoint'), str('fleet'), str('region'), num('lastHeartbeatAt')],
        KeySchema: [hash('endpoint')],
        GlobalSecondaryIndexes: Object.values(LB_INDEXES).map(({ indexName, partitionKey, sortKey }) => ({
          IndexName: indexName,
          KeySchema: [hash(partitionKey), range(sortKey)],
          Projection: { ProjectionType: 'ALL' },
        })),
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    },
    [LOGICAL_IDS.claimTable]: {
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        TableName: names.claimTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [str('claimId')],
        KeySchema: [hash('claimId')],
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    },
    // One row per node (instance) that a drain watcher reported on: the latest of its events.
    // Game-server events read it to keep servers of a drained node out of the pool.
    [LOGICAL_IDS.nodeTable]: {
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        TableName: names.nodeTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [str('node')],
        KeySchema: [hash('node')],
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    },
  };
}

function queues(stage) {
  const names = physicalNames(stage);
  return {
    [LOGICAL_IDS.statusDeadLetterQueue]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: names.statusDeadLetterQueue,
        MessageRetentionPeriod: 1209600,
        SqsManagedSseEnabled: true,
      },
    },
    [LOGICAL_IDS.statusQueue]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: names.statusQueue,
        VisibilityTimeout: STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS,
        MessageRetentionPeriod: 345600,
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [LOGICAL_IDS.statusDeadLetterQueue, 'Arn'] },
          maxReceiveCount: MAX_RECEIVE_COUNT,
        },
      },
    },
  };
}

function alarms(stage) {
  return {
    // Operators subscribe to this topic (e-mail, chat, paging) to hear about the alarms below.
    [LOGICAL_IDS.alarmTopic]: {
      Type: 'AWS::SNS::Topic',
      Properties: { TopicName: `gs-inventory-alarms-${stage}` },
    },
    [LOGICAL_IDS.deadLetterAlarm]: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: 'Status events reached the dead-letter queue: a pod sends messages the poller rejects.',
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [LOGICAL_IDS.statusDeadLetterQueue, 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: LOGICAL_IDS.alarmTopic }],
        OKActions: [{ Ref: LOGICAL_IDS.alarmTopic }],
      },
    },
  };
}

/** The whole stateful part of the stack for one stage. */
function buildResources(stage) {
  return {
    names: physicalNames(stage),
    resources: { ...tables(stage), ...queues(stage), ...alarms(stage) },
  };
}

/** Entry point for serverless.yml: `${file(./infra/resources.cjs):resources}` and `:names`. */
async function resolveForServerless({ resolveVariable }) {
  const stage = await resolveVariable('sls:stage');
  return buildResources(stage);
}

module.exports = resolveForServerless;
module.exports.buildResources = buildResources;
module.exports.physicalNames = physicalNames;
module.exports.LOGICAL_IDS = LOGICAL_IDS;
module.exports.AVAILABILITY_INDEXES = AVAILABILITY_INDEXES;
module.exports.NODE_INDEX = NODE_INDEX;
module.exports.LB_INDEXES = LB_INDEXES;
module.exports.TTL_ATTRIBUTE = TTL_ATTRIBUTE;
module.exports.MAX_RECEIVE_COUNT = MAX_RECEIVE_COUNT;
module.exports.STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS = STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS;
