// One source of truth for the stateful resources (DynamoDB tables, SQS queues), the alarms watching
// the stack and the HTTP API's access log format.
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
  alarmEmailSubscription: 'AlarmEmailSubscription',
  pollerErrorsAlarm: 'StatusPollerErrorsAlarm',
  pollerThrottlesAlarm: 'StatusPollerThrottlesAlarm',
  statusQueueAgeAlarm: 'StatusQueueAgeAlarm',
  api5xxAlarm: 'HttpApi5xxRateAlarm',
};

/**
 * Logical ids the Serverless Framework v3 gives what it generates from serverless.yml
 * (lib/plugins/aws/lib/naming.js) and the alarms watch; test/package checks each against the
 * packaged template.
 */
const FRAMEWORK_LOGICAL_IDS = {
  httpApi: 'HttpApi',
  httpApiStage: 'HttpApiStage',
  /** Function key `statusPoller` (functionKey in infra/serverless-functions.cjs) + `LambdaFunction`. */
  statusPollerFunction: 'StatusPollerLambdaFunction',
};

/** CloudFormation conditions of the stack. */
const CONDITIONS = {
  /** params.alarmEmail is set: subscribe it to the alarm topic. */
  hasAlarmEmail: 'HasAlarmEmail',
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

/**
 * What every table shares: on-demand billing, TTL on `expiresAt`, point-in-time recovery,
 * encryption, and it outlives the stack (DeletionPolicy and UpdateReplacePolicy Retain: `serverless
 * remove` leaves it behind; README "Redeploying a stage whose tables were retained").
 * DeletionProtectionEnabled (params.tableDeletionProtection, on for prod) is DynamoDB's own guard:
 * while it is on, no one (console, CLI, a stack with another DeletionPolicy) can delete the table.
 */
function table({ deletionProtection }, properties) {
  return {
    Type: 'AWS::DynamoDB::Table',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      ...properties,
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: deletionProtection,
    },
  };
}

function tables(stage, options) {
  const names = physicalNames(stage);
  const availabilityGsi = ({ indexName, partitionKey }) => ({
    IndexName: indexName,
    KeySchema: [hash(partitionKey), range('availableAt')],
    Projection: { ProjectionType: 'ALL' },
  });
  return {
    [LOGICAL_IDS.gameServerTable]: table(options, {
      TableName: names.gameServerTable,
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
    }),
    [LOGICAL_IDS.loadBalancerTable]: table(options, {
      TableName: names.loadBalancerTable,
      AttributeDefinitions: [str('endpoint'), str('fleet'), str('region'), num('lastHeartbeatAt')],
      KeySchema: [hash('endpoint')],
      GlobalSecondaryIndexes: Object.values(LB_INDEXES).map(({ indexName, partitionKey, sortKey }) => ({
        IndexName: indexName,
        KeySchema: [hash(partitionKey), range(sortKey)],
        Projection: { ProjectionType: 'ALL' },
      })),
    }),
    [LOGICAL_IDS.claimTable]: table(options, {
      TableName: names.claimTable,
      AttributeDefinitions: [str('claimId')],
      KeySchema: [hash('claimId')],
    }),
    // One row per node (instance) that a drain watcher reported on: the latest of its events.
    // Game-server events read it to keep servers of a drained node out of the pool.
    [LOGICAL_IDS.nodeTable]: table(options, {
      TableName: names.nodeTable,
      AttributeDefinitions: [str('node')],
      KeySchema: [hash('node')],
    }),
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

/**
 * Alarm thresholds, each with the reason for its value. Every alarm notifies the alarm topic on
 * ALARM and on OK, and treats missing data as fine: Lambda, API Gateway, SQS age and DynamoDB
 * throttle metrics are only published while there is traffic (or trouble).
 */
const ALARM_THRESHOLDS = {
  /**
   * Poller Errors (Sum over 5 minutes) at or above which to alarm. An error is an invocation that
   * failed as a whole (timeout, crash, an exception escaping the batch handler); failed items are
   * not errors (the poller reports them, ReportBatchItemFailures). SQS retries a failed batch, so
   * one error is no news; a batch that fails every time comes back every visibility timeout (60 s)
   * and alone reaches 3 within the window.
   */
  pollerErrorsPer5Minutes: 3,
  /**
   * Poller Throttles (Sum per minute) above which to alarm: none are expected. The event source
   * never runs more than params.pollerMaximumConcurrency batches at once and the poller has at
   * least that much reserved (infra/serverless-functions.cjs refuses less), so a throttle means the
   * two limits were changed apart, or something else invokes the poller.
   */
  pollerThrottlesPerMinute: 0,
  /**
   * Age of the oldest status event (seconds, Maximum per minute) above which to alarm. A message
   * that keeps failing ages up to MAX_RECEIVE_COUNT x the visibility timeout (5 x 60 s) before it
   * moves to the dead-letter queue (which has its own alarm); one visibility timeout more can only
   * mean that the poller does not keep up or does not run. Heartbeats are then long past
   * HEARTBEAT_TIMEOUT_SECONDS (30 s) and servers look stale to claims: the poller errors and
   * throttles alarms are the earlier signals, this one catches a backlog whatever its cause.
   */
  statusQueueMaxAgeSeconds: (MAX_RECEIVE_COUNT + 1) * STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS,
  /**
   * Share of HTTP API requests answered 5xx (percent per minute) above which a minute is bad; the
   * alarm fires on 3 bad minutes out of 5. 5xx are our 500s (bugs), our 503s (DynamoDB throttling
   * or timeouts outlasting the SDK's retries; clients retry after Retry-After) and API Gateway's
   * 502/504 (a function crashed or timed out). Clients absorb a few; one request in twenty failing
   * for minutes is an outage. 429s from the stage throttle are 4xx and do not count.
   */
  api5xxRatePercent: 5,
  /** Minutes with fewer requests count as good: at one or two requests a minute one 5xx is 50 %. */
  api5xxMinRequestsPerMinute: 10,
  /**
   * Read + write throttle events of one table and its indexes (per minute) above which a minute is
   * throttled; the alarm fires on 3 throttled minutes out of 5. The SDK retries throttled requests
   * (DYNAMODB_MAX_ATTEMPTS) and on-demand tables adapt within minutes, so a throttled minute is
   * absorbed; throttling that persists is a hot partition, a table beyond its warm throughput or
   * the per-table quota (docs/SCALING.md section 5).
   */
  tableThrottleEventsPerMinute: 0,
};

/**
 * The metric-math alarms fire on 3 bad one-minute datapoints (each metric's MetricStat.Period) out
 * of the last 5, not on one bad minute. A metric-math alarm takes no Period of its own.
 */
const SUSTAINED = { EvaluationPeriods: 5, DatapointsToAlarm: 3 };
/** A metric-math alarm reads at most 10 metrics (a CloudWatch hard limit). */
const MAX_METRICS_PER_ALARM = 10;

const dimensions = (values) => Object.entries(values).map(([Name, Value]) => ({ Name, Value }));

/** An alarm on this stack's topic: it reports ALARM and OK, and missing data is not breaching. */
function alarm(description, properties) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: description,
      ...properties,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: LOGICAL_IDS.alarmTopic }],
      OKActions: [{ Ref: LOGICAL_IDS.alarmTopic }],
    },
  };
}

const queueName = (logicalId) => ({ 'Fn::GetAtt': [logicalId, 'QueueName'] });

/** An alarm on one metric ([namespace, name, dimensions]), judged on a single period. */
function metricAlarm(description, [namespace, metricName, dimensionValues], evaluation) {
  return alarm(description, {
    Namespace: namespace,
    MetricName: metricName,
    Dimensions: dimensions(dimensionValues),
    ...evaluation,
    EvaluationPeriods: 1,
  });
}

/** One metric of a metric-math alarm, summed per minute; `id` is what the expression calls it. */
function metricSum(id, namespace, metricName, dimensionValues) {
  return {
    Id: id,
    MetricStat: { Metric: { Namespace: namespace, MetricName: metricName, Dimensions: dimensions(dimensionValues) }, Period: 60, Stat: 'Sum' },
    ReturnData: false,
  };
}

/** A metric-math alarm whose `expression` (over `metrics`) is the value compared to the threshold. */
function mathAlarm(description, { metrics, expression, label }, evaluation) {
  if (metrics.length > MAX_METRICS_PER_ALARM) {
    throw new Error(`infra/resources.cjs: ${label} reads ${metrics.length} metrics, CloudWatch allows ${MAX_METRICS_PER_ALARM}: split the alarm`);
  }
  return alarm(description, {
    Metrics: [...metrics, { Id: 'result', Expression: expression, Label: label, ReturnData: true }],
    ...evaluation,
  });
}

/**
 * DynamoDB throttling of one table, its indexes included. CloudWatch publishes ReadThrottleEvents
 * and WriteThrottleEvents per table (dimension TableName: the table alone) and per global
 * secondary index (TableName + GlobalSecondaryIndexName), for on-demand tables too; the alarm sums
 * them all. ThrottledRequests is not used: its dimensions are TableName + Operation (an alarm per
 * operation), and it counts a write once however many of its index writes were throttled.
 */
function tableThrottleAlarm(logicalId, properties) {
  const targets = [
    { TableName: { Ref: logicalId } },
    ...(properties.GlobalSecondaryIndexes ?? []).map((gsi) => ({ TableName: { Ref: logicalId }, GlobalSecondaryIndexName: gsi.IndexName })),
  ];
  const metrics = targets.flatMap((target, index) => [
    metricSum(`read${index}`, 'AWS/DynamoDB', 'ReadThrottleEvents', target),
    metricSum(`write${index}`, 'AWS/DynamoDB', 'WriteThrottleEvents', target),
  ]);
  return mathAlarm(
    `DynamoDB throttles ${properties.TableName} (reads or writes, table or index) for minutes: hot partition, warm throughput or table quota (docs/SCALING.md).`,
    {
      metrics,
      // FILL: each metric only has datapoints in minutes with throttling.
      expression: `SUM(FILL([${metrics.map((metric) => metric.Id).join(', ')}], 0))`,
      label: `${properties.TableName} throttle events`,
    },
    { ...SUSTAINED, Threshold: ALARM_THRESHOLDS.tableThrottleEventsPerMinute, ComparisonOperator: 'GreaterThanThreshold' },
  );
}

/** `GameServerStatusTable` -> `GameServerStatusTableThrottleAlarm`. */
const tableThrottleAlarmId = (tableLogicalId) => `${tableLogicalId}ThrottleAlarm`;

function alarms(stage, { alarmEmail }, tableResources) {
  const T = ALARM_THRESHOLDS;
  const poller = { FunctionName: { Ref: FRAMEWORK_LOGICAL_IDS.statusPollerFunction } };
  const httpApiStage = { ApiId: { Ref: FRAMEWORK_LOGICAL_IDS.httpApi }, Stage: { Ref: FRAMEWORK_LOGICAL_IDS.httpApiStage } };
  return {
    // Operators subscribe to this topic (e-mail, chat, paging) to hear about the alarms below.
    [LOGICAL_IDS.alarmTopic]: {
      Type: 'AWS::SNS::Topic',
      Properties: { TopicName: `gs-inventory-alarms-${stage}` },
    },
    // params.alarmEmail, if set. AWS mails the address a confirmation link first; until it is
    // followed the subscription stays pending and delivers nothing.
    [LOGICAL_IDS.alarmEmailSubscription]: {
      Type: 'AWS::SNS::Subscription',
      Condition: CONDITIONS.hasAlarmEmail,
      Properties: { TopicArn: { Ref: LOGICAL_IDS.alarmTopic }, Protocol: 'email', Endpoint: alarmEmail },
    },
    [LOGICAL_IDS.deadLetterAlarm]: metricAlarm(
      'Status events reached the dead-letter queue: a pod sends messages the poller rejects.',
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: queueName(LOGICAL_IDS.statusDeadLetterQueue) }],
      { Statistic: 'Maximum', Period: 60, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' },
    ),
    [LOGICAL_IDS.pollerErrorsAlarm]: metricAlarm(
      'Status poller invocations keep failing as a whole (timeout, crash): status events are not applied. See its logs.',
      ['AWS/Lambda', 'Errors', poller],
      { Statistic: 'Sum', Period: 300, Threshold: T.pollerErrorsPer5Minutes, ComparisonOperator: 'GreaterThanOrEqualToThreshold' },
    ),
    [LOGICAL_IDS.pollerThrottlesAlarm]: metricAlarm(
      'Status poller throttled: params pollerMaximumConcurrency above pollerReservedConcurrency, or another caller invokes it.',
      ['AWS/Lambda', 'Throttles', poller],
      { Statistic: 'Sum', Period: 60, Threshold: T.pollerThrottlesPerMinute, ComparisonOperator: 'GreaterThanThreshold' },
    ),
    [LOGICAL_IDS.statusQueueAgeAlarm]: metricAlarm(
      'Status events wait too long: the poller does not keep up or does not run, and the inventory goes stale.',
      ['AWS/SQS', 'ApproximateAgeOfOldestMessage', { QueueName: queueName(LOGICAL_IDS.statusQueue) }],
      { Statistic: 'Maximum', Period: 60, Threshold: T.statusQueueMaxAgeSeconds, ComparisonOperator: 'GreaterThanThreshold' },
    ),
    // HTTP APIs publish 5xx and Count (no 5XXError) with dimensions ApiId and Stage; Ref of the
    // stage is its name ($default).
    [LOGICAL_IDS.api5xxAlarm]: mathAlarm(
      `The HTTP API answers more than ${T.api5xxRatePercent} % of requests with 5xx for minutes: see the access log and the functions' logs.`,
      {
        metrics: [metricSum('errors', 'AWS/ApiGateway', '5xx', httpApiStage), metricSum('requests', 'AWS/ApiGateway', 'Count', httpApiStage)],
        expression: `IF(requests >= ${T.api5xxMinRequestsPerMinute}, 100 * FILL(errors, 0) / requests, 0)`,
        label: '5xx share of requests (%)',
      },
      { ...SUSTAINED, Threshold: T.api5xxRatePercent, ComparisonOperator: 'GreaterThanThreshold' },
    ),
    ...Object.fromEntries(
      Object.entries(tableResources).map(([logicalId, resource]) => [tableThrottleAlarmId(logicalId), tableThrottleAlarm(logicalId, resource.Properties)]),
    ),
  };
}

/** The stack's conditions: the alarm e-mail subscription exists only where params.alarmEmail is set. */
function conditions({ alarmEmail }) {
  return { [CONDITIONS.hasAlarmEmail]: { 'Fn::Not': [{ 'Fn::Equals': [alarmEmail, ''] }] } };
}

/**
 * HTTP API access log format (serverless.yml provider.logs.httpApi.format): one JSON object per
 * request, in the log group /aws/http-api/<stack name>, kept logRetentionInDays (30 days). Every
 * value is a string; API Gateway writes "-" where it has none.
 *   requestId            $context.requestId: the function sees the same id as
 *                        event.requestContext.requestId, to join an access line to its function logs
 *   ip                   source IP of the TCP connection ($context.identity.sourceIp)
 *   requestTime          CLF time of the request
 *   routeKey             the route matched, e.g. "POST /claim-gs" (method and path template: no
 *                        endpoint or claim id from the path)
 *   status, protocol, responseLength
 *   integrationStatus    status of the Lambda invocation (a crashed function shows here, not in status)
 *   integrationLatency   ms spent in the function (cold start included); responseLatency: ms in total
 *   errorMessage         API Gateway's own error, e.g. "Too Many Requests" (stage throttle), "Forbidden"
 *   userArn, caller      the IAM principal that signed the request (params auth: iam); "-" in api-key
 *                        mode, where API Gateway does not authenticate and the functions check the key
 *   userAgent
 * No request header, query string or body is logged: never the Authorization header, neither an
 * API key nor a SigV4 signature.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  responseLatency: '$context.responseLatency',
  errorMessage: '$context.error.message',
  userArn: '$context.identity.userArn',
  caller: '$context.identity.caller',
  userAgent: '$context.identity.userAgent',
};
const ACCESS_LOG_FORMAT = JSON.stringify(ACCESS_LOG_FIELDS);

/**
 * The stateful part of the stack for one stage, its alarms and conditions. Options are the stage
 * parameters of serverless.yml; without them: no deletion protection, no alarm e-mail.
 * @param {string} stage
 * @param {{ deletionProtection?: boolean, alarmEmail?: string }} [options]
 */
function buildResources(stage, options = {}) {
  const settings = checkOptions(options);
  const tableResources = tables(stage, settings);
  return {
    names: physicalNames(stage),
    resources: { ...tableResources, ...queues(stage), ...alarms(stage, settings, tableResources) },
    conditions: conditions(settings),
    accessLogFormat: ACCESS_LOG_FORMAT,
  };
}

/** Stage parameters arrive as YAML values or, from `--param`, as strings. */
function checkOptions({ deletionProtection = false, alarmEmail = '' }) {
  const protection = { true: true, false: false }[String(deletionProtection)];
  if (protection === undefined) throw new Error(`serverless.yml params.tableDeletionProtection: ${deletionProtection} is not true or false`);
  const email = String(alarmEmail ?? '').trim();
  // One plain address: SNS takes the endpoint as it is, and a list would be one bad address.
  if (email !== '' && !/^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/.test(email)) {
    throw new Error(`serverless.yml params.alarmEmail: ${email} is not one e-mail address`);
  }
  return { deletionProtection: protection, alarmEmail: email };
}

/**
 * Entry point for serverless.yml: `${file(./infra/resources.cjs):resources}`, `:conditions`,
 * `:accessLogFormat` and `:names`.
 */
async function resolveForServerless({ resolveVariable }) {
  const [stage, deletionProtection, alarmEmail] = await Promise.all([
    resolveVariable('sls:stage'),
    resolveVariable('param:tableDeletionProtection'),
    resolveVariable('param:alarmEmail'),
  ]);
  return buildResources(stage, { deletionProtection, alarmEmail });
}

module.exports = resolveForServerless;
module.exports.buildResources = buildResources;
module.exports.physicalNames = physicalNames;
module.exports.LOGICAL_IDS = LOGICAL_IDS;
module.exports.FRAMEWORK_LOGICAL_IDS = FRAMEWORK_LOGICAL_IDS;
module.exports.CONDITIONS = CONDITIONS;
module.exports.ALARM_THRESHOLDS = ALARM_THRESHOLDS;
module.exports.ACCESS_LOG_FORMAT = ACCESS_LOG_FORMAT;
module.exports.tableThrottleAlarmId = tableThrottleAlarmId;
module.exports.AVAILABILITY_INDEXES = AVAILABILITY_INDEXES;
module.exports.NODE_INDEX = NODE_INDEX;
module.exports.LB_INDEXES = LB_INDEXES;
module.exports.TTL_ATTRIBUTE = TTL_ATTRIBUTE;
module.exports.MAX_RECEIVE_COUNT = MAX_RECEIVE_COUNT;
module.exports.STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS = STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS;
