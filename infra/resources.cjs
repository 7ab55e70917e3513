// One source of truth for the stateful resources (DynamoDB tables, SQS queues), the notification
// bus and its subscribers, the alarms watching the stack and the HTTP API's access log format.
// serverless.yml resolves it through `${file(./infra/resources.cjs):...}`; the local stack and the
// tests build their tables and queues from the very same definitions (see lib/local/provision.ts),
// so the local and the deployed shapes cannot drift apart.
'use strict';

const LOGICAL_IDS = {
  gameServerTable: 'GameServerStatusTable',
  loadBalancerTable: 'LoadBalancerStatusTable',
  claimTable: 'GameServerClaimsTable',
  nodeTable: 'NodeStatusTable',
  eventFeedTable: 'LifecycleEventFeedTable',
  statusQueue: 'StatusQueue',
  statusDeadLetterQueue: 'StatusDeadLetterQueue',
  deadLetterAlarm: 'StatusDeadLetterQueueAlarm',
  alarmTopic: 'AlarmTopic',
  alarmEmailSubscription: 'AlarmEmailSubscription',
  pollerErrorsAlarm: 'StatusPollerErrorsAlarm',
  pollerThrottlesAlarm: 'StatusPollerThrottlesAlarm',
  statusQueueAgeAlarm: 'StatusQueueAgeAlarm',
  api5xxAlarm: 'HttpApi5xxRateAlarm',
  eventBus: 'NotificationEventBus',
  notifierFailureQueue: 'NotifierFailureQueue',
  notifierFailureAlarm: 'NotifierFailureQueueAlarm',
  notifierErrorsAlarm: 'NotifierErrorsAlarm',
  notifierIteratorAgeAlarm: 'NotifierIteratorAgeAlarm',
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
  notifierFunction: 'NotifierLambdaFunction',
};

/** CloudFormation conditions of the stack. */
const CONDITIONS = {
  /** params.alarmEmail is set: subscribe it to the alarm topic. */
  hasAlarmEmail: 'HasAlarmEmail',
};

/** Attempts before SQS moves a message to the dead-letter queue. */
const MAX_RECEIVE_COUNT = 5;
/** Dead-letter and failure queues keep their messages 14 days, the most SQS allows. */
const DEAD_LETTER_RETENTION_SECONDS = 14 * 86_400;
/** Must exceed the poller's timeout (AWS recommends 6x the function timeout). */
const STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS = 60;

/** Physical names: the public contract names plus a stage suffix. */
function physicalNames(stage) {
  return {
    gameServerTable: `game-server-status-by-endpoint-${stage}`,
    loadBalancerTable: `lb-status-by-endpoint-${stage}`,
    claimTable: `game-server-claims-${stage}`,
    nodeTable: `node-status-by-name-${stage}`,
    eventFeedTable: `lifecycle-event-feed-${stage}`,
    statusQueue: `game-server-status-events-${stage}`,
    statusDeadLetterQueue: `game-server-status-events-dlq-${stage}`,
    eventBus: `gs-inventory-${stage}`,
    notifierFailureQueue: `notifier-failures-${stage}`,
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
/**
 * Sparse index of the servers a claim holds (claimed or busy) and not yet marked stale, by
 * heartbeat deadline: `watch` (a shard, `w#<n>`) is written only while that is so. The stale sweep
 * queries `freshUntil < now` per shard and reads exactly the held servers whose heartbeats stopped,
 * never the pool (lib/notifications/stale-sweep.ts).
 */
const STALE_WATCH_INDEX = { indexName: 'stale-watch', partitionKey: 'watch', sortKey: 'freshUntil' };
/** The event feed's key: a time bucket, and the write's time and first event id within it. */
const FEED_KEY = { partitionKey: 'bucket', sortKey: 'at' };
/** Streams feed the notifier: both images, so each change is told with the state it left. */
const STREAM_SPECIFICATION = { StreamViewType: 'NEW_AND_OLD_IMAGES' };
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
        str('watch'),
        num('freshUntil'),
      ],
      KeySchema: [hash('endpoint')],
      GlobalSecondaryIndexes: [
        ...Object.values(AVAILABILITY_INDEXES).map(availabilityGsi),
        {
          IndexName: NODE_INDEX.indexName,
          KeySchema: [hash(NODE_INDEX.partitionKey), range(NODE_INDEX.sortKey)],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          IndexName: STALE_WATCH_INDEX.indexName,
          KeySchema: [hash(STALE_WATCH_INDEX.partitionKey), range(STALE_WATCH_INDEX.sortKey)],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
      StreamSpecification: STREAM_SPECIFICATION,
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
      StreamSpecification: STREAM_SPECIFICATION,
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
    // The latest lifecycle notifications, for dashboards (GET /events/recent): the notifier writes
    // one item per batch it published, under the time bucket of the write; TTL drops it after
    // an hour (lib/notifications/feed.ts).
    [LOGICAL_IDS.eventFeedTable]: table(options, {
      TableName: names.eventFeedTable,
      AttributeDefinitions: [str(FEED_KEY.partitionKey), str(FEED_KEY.sortKey)],
      KeySchema: [hash(FEED_KEY.partitionKey), range(FEED_KEY.sortKey)],
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
        MessageRetentionPeriod: DEAD_LETTER_RETENTION_SECONDS,
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
    // Where the notifier's stream event sources put the batches it gave up on (retries or record
    // age exhausted, infra/functions.cjs): each message names the table's stream, shard and sequence
    // numbers, not the records, which the stream keeps for 24 h. Its alarm calls for a look.
    [LOGICAL_IDS.notifierFailureQueue]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: names.notifierFailureQueue,
        MessageRetentionPeriod: DEAD_LETTER_RETENTION_SECONDS,
        SqsManagedSseEnabled: true,
      },
    },
  };
}

/** `source` of every entry the notifier puts on the bus; each subscriber's rule matches on it. */
const EVENT_SOURCE = 'gs-inventory';
/**
 * Webhooks authenticate our requests by this header, whose value is the subscriber's shared secret
 * (AWS::Events::Connection, API_KEY authorization: EventBridge sends `<name>: <value>` as is). A
 * header of its own rather than `Authorization`: the secret string is exactly what the receiver
 * compares, with no scheme prefix to store alongside it.
 */
const WEBHOOK_SECRET_HEADER = 'webhook-secret';
/** Webhook bodies are CloudEvents in structured mode (the rule target's InputPath `$.detail`). */
const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';
/**
 * Delivery to subscribers (EventBridge rule targets). EventBridge retries throttling, 5xx and
 * timeouts with exponential backoff up to MaximumRetryAttempts (185 is its maximum) or
 * MaximumEventAgeInSeconds (24 h, its maximum), and sends an event whose delivery it does not
 * retry (most 4xx) to the dead-letter queue at once: a subscriber down for up to a day still gets
 * every event. invocationRateLimitPerSecond caps each webhook (API destination) so that a burst of
 * changes (a node drain) cannot flood it; EventBridge holds the excess back, within the same 24 h.
 */
const NOTIFY_DELIVERY = Object.freeze({
  maximumEventAgeSeconds: 86_400,
  maximumRetryAttempts: 185,
  invocationRateLimitPerSecond: 50,
});

/** `mm-eu_1` -> `MmEu1`: a name as part of a logical id (letters and digits only). */
const pascalCase = (name) =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');

/** params.notifyWebhooks: a webhook's name: kebab-case, short enough for descriptions and ids. */
const WEBHOOK_NAME = /^[a-z][a-z0-9-]{0,39}$/;
/** A Secrets Manager secret ARN (the random suffix may be left out; no wildcard). */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
/** A standard SQS queue ARN: arn:<partition>:sqs:<region>:<account>:<name>. */
const QUEUE_ARN = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(\.fifo)?)$/;
/** AWS::Events::ApiDestination InvocationEndpoint: at most 2048 characters of this alphabet. */
const INVOCATION_ENDPOINT = /^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@&=+$,A-Za-z0-9])+)([).!';/?:,])?$/;

/** A list parameter arrives as a YAML list or, from `--param` and the defaults, as a JSON string. */
function parseListParam(value, param) {
  let list = value ?? [];
  if (typeof list === 'string') {
    try {
      list = JSON.parse(list.trim() || '[]');
    } catch {
      throw new Error(`serverless.yml params.${param}: not valid JSON`);
    }
  }
  if (!Array.isArray(list)) throw new Error(`serverless.yml params.${param}: expected a JSON list`);
  return list;
}

/**
 * Checks and normalises params.notifyWebhooks: `[{ "name", "url", "secretArn" }]`. Each webhook
 * gets POSTs of every notification (the CloudEvent as the body) at its https `url`, with its
 * secret (the whole SecretString of `secretArn`) in the WEBHOOK_SECRET_HEADER header. Throws,
 * naming the entry, for anything else: a missing or unknown field, a URL that is not plain https,
 * an ARN that is not a secret's, a name used twice.
 * @returns {{ name: string, url: string, secretArn: string }[]}
 */
function checkNotifyWebhooks(value) {
  const param = 'serverless.yml params.notifyWebhooks';
  const seen = new Set();
  return parseListParam(value, 'notifyWebhooks').map((entry, index) => {
    const where = `${param}[${index}]`;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${where}: expected { "name", "url", "secretArn" }`);
    const unknown = Object.keys(entry).filter((key) => !['name', 'url', 'secretArn'].includes(key));
    if (unknown.length > 0) throw new Error(`${where}: unknown field ${unknown.join(', ')} (expected name, url, secretArn)`);
    const { name, url, secretArn } = entry;
    if (typeof name !== 'string' || !WEBHOOK_NAME.test(name)) throw new Error(`${where}: name ${JSON.stringify(name)} must be kebab-case, 1-40 characters`);
    const named = `${param} ${name}`;
    if (seen.has(name)) throw new Error(`${named}: duplicate name`);
    seen.add(name);
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`${named}: url ${JSON.stringify(url)} is not a URL`);
    }
    // API destinations call public https endpoints only; credentials in the URL would sit in the
    // template in plain text (the secret goes in secretArn).
    if (parsed.protocol !== 'https:') throw new Error(`${named}: url ${url} is not https`);
    if (parsed.username || parsed.password) throw new Error(`${named}: url ${url} carries credentials; put the secret in secretArn`);
    if (parsed.hash) throw new Error(`${named}: url ${url} has a fragment`);
    if (url.length > 2048 || !INVOCATION_ENDPOINT.test(url)) throw new Error(`${named}: url ${url} is not a valid API destination endpoint`);
    if (typeof secretArn !== 'string' || !SECRET_ARN.test(secretArn)) {
      throw new Error(`${named}: secretArn ${JSON.stringify(secretArn)} is not a Secrets Manager secret ARN`);
    }
    return { name, url, secretArn };
  });
}

/**
 * Checks and normalises params.notifyQueues: a list of SQS queue ARNs of the stack's account, each
 * getting every notification (the CloudEvent as the message body). Throws for an ARN that is not a
 * standard queue's, for a queue in another region than the stack's (`region`, when known:
 * EventBridge rules deliver to queues of their own region only) and for a queue listed twice. The
 * account is only known at deploy time and is not checked here.
 * @returns {{ name: string, arn: string }[]}
 */
function checkNotifyQueues(value, region) {
  const param = 'serverless.yml params.notifyQueues';
  const ids = new Map();
  return parseListParam(value, 'notifyQueues').map((arn, index) => {
    const match = typeof arn === 'string' ? QUEUE_ARN.exec(arn) : null;
    if (!match) throw new Error(`${param}[${index}]: ${JSON.stringify(arn)} is not an SQS queue ARN`);
    const [, queueRegion, , name, fifo] = match;
    // A FIFO target needs SqsParameters.MessageGroupId, one fixed group for every event.
    if (fifo) throw new Error(`${param}: ${arn} is a FIFO queue; only standard queues are supported`);
    if (region && queueRegion !== region) throw new Error(`${param}: ${arn} is not in the stack's region ${region}`);
    // The queue's name names its resources here: two queues whose names read the same would share them.
    const id = pascalCase(name);
    if (ids.get(id) === arn) throw new Error(`${param}: duplicate queue ${arn}`);
    if (ids.has(id)) throw new Error(`${param}: ${ids.get(id)} and ${arn}: queue names that read the same (${id}) are not supported`);
    ids.set(id, arn);
    return { name, arn };
  });
}

/**
 * Logical ids of one subscriber's resources: `{ kind: 'webhook', name: 'matchmaker' }` ->
 * `NotifyWebhookMatchmakerRule`, ...; a queue's by its queue name. `connection`, `destination`
 * and `role` exist for webhooks only.
 */
function notifySubscriberIds({ kind, name }) {
  const prefix = `Notify${kind === 'webhook' ? 'Webhook' : 'Queue'}${pascalCase(name)}`;
  return {
    connection: `${prefix}Connection`,
    destination: `${prefix}Destination`,
    role: `${prefix}InvokeRole`,
    rule: `${prefix}Rule`,
    deadLetterQueue: `${prefix}DeadLetterQueue`,
    deadLetterQueuePolicy: `${prefix}DeadLetterQueuePolicy`,
    deadLetterAlarm: `${prefix}DeadLetterAlarm`,
  };
}

const getAtt = (logicalId, attribute) => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** The stage's notification bus: the notifier puts every notification on it (EVENT_SOURCE). */
function eventBus(stage) {
  return {
    [LOGICAL_IDS.eventBus]: {
      Type: 'AWS::Events::EventBus',
      Properties: {
        Name: physicalNames(stage).eventBus,
        Description: `Lifecycle notifications of gs-inventory ${stage} (CloudEvents in detail, source ${EVENT_SOURCE})`,
      },
    },
  };
}

/**
 * One subscriber: a rule on the bus matching every notification, with one target (the webhook's
 * API destination or the queue), retried per NOTIFY_DELIVERY, whose undeliverable events go to a
 * dead-letter queue of its own that only this rule may send to. The target gets the CloudEvent
 * itself (`InputPath: $.detail`), not EventBridge's envelope.
 */
function subscriberResources(stage, subscriber, target, extra) {
  const ids = notifySubscriberIds(subscriber);
  return {
    ...extra,
    [ids.deadLetterQueue]: {
      Type: 'AWS::SQS::Queue',
      Properties: { MessageRetentionPeriod: DEAD_LETTER_RETENTION_SECONDS, SqsManagedSseEnabled: true },
    },
    // EventBridge sends to a target's dead-letter queue as the service, not with a role.
    [ids.deadLetterQueuePolicy]: {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: ids.deadLetterQueue }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'UndeliveredNotifications',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: getAtt(ids.deadLetterQueue, 'Arn'),
              Condition: { ArnEquals: { 'aws:SourceArn': getAtt(ids.rule, 'Arn') } },
            },
          ],
        },
      },
    },
    [ids.rule]: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: `Every gs-inventory ${stage} notification to ${subscriber.kind} ${subscriber.name}`,
        EventBusName: { Ref: LOGICAL_IDS.eventBus },
        EventPattern: { source: [EVENT_SOURCE] },
        State: 'ENABLED',
        Targets: [
          {
            Id: subscriber.kind,
            ...target,
            InputPath: '$.detail',
            RetryPolicy: {
              MaximumEventAgeInSeconds: NOTIFY_DELIVERY.maximumEventAgeSeconds,
              MaximumRetryAttempts: NOTIFY_DELIVERY.maximumRetryAttempts,
            },
            DeadLetterConfig: { Arn: getAtt(ids.deadLetterQueue, 'Arn') },
          },
        ],
      },
    },
  };
}

/**
 * A webhook: its connection (the secret, resolved by CloudFormation from Secrets Manager at deploy
 * time: the template holds only the reference, and EventBridge keeps the value in a secret of its
 * own), its API destination (POST to the url), and the role through which the rule may invoke
 * that one destination.
 */
function webhookResources(stage, webhook) {
  const subscriber = { kind: 'webhook', name: webhook.name };
  const ids = notifySubscriberIds(subscriber);
  return subscriberResources(
    stage,
    subscriber,
    {
      Arn: getAtt(ids.destination, 'Arn'),
      RoleArn: getAtt(ids.role, 'Arn'),
      HttpParameters: { HeaderParameters: { 'content-type': CLOUDEVENTS_CONTENT_TYPE } },
    },
    {
      [ids.connection]: {
        Type: 'AWS::Events::Connection',
        Properties: {
          Description: `gs-inventory ${stage} webhook ${webhook.name}: secret in the ${WEBHOOK_SECRET_HEADER} header`,
          AuthorizationType: 'API_KEY',
          AuthParameters: {
            ApiKeyAuthParameters: {
              ApiKeyName: WEBHOOK_SECRET_HEADER,
              ApiKeyValue: `{{resolve:secretsmanager:${webhook.secretArn}:SecretString}}`,
            },
          },
        },
      },
      [ids.destination]: {
        Type: 'AWS::Events::ApiDestination',
        Properties: {
          Description: `gs-inventory ${stage} webhook ${webhook.name}`,
          ConnectionArn: getAtt(ids.connection, 'Arn'),
          HttpMethod: 'POST',
          InvocationEndpoint: webhook.url,
          InvocationRateLimitPerSecond: NOTIFY_DELIVERY.invocationRateLimitPerSecond,
        },
      },
      [ids.role]: {
        Type: 'AWS::IAM::Role',
        Properties: {
          Description: `EventBridge invokes webhook ${webhook.name} of gs-inventory ${stage}`,
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sts:AssumeRole',
                // Only EventBridge acting for this account (the rule), not for another one.
                Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
              },
            ],
          },
          Policies: [
            {
              PolicyName: 'invoke-api-destination',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Sid: 'InvokeWebhook',
                    Effect: 'Allow',
                    Action: ['events:InvokeApiDestination'],
                    // The destination's ARN in the form IAM matches (without the id suffix of Arn).
                    Resource: [getAtt(ids.destination, 'ArnForPolicy')],
                  },
                ],
              },
            },
          ],
        },
      },
    },
  );
}

/**
 * A subscriber queue: the rule sends to it as the service. Its owner grants that in the queue's
 * own policy (serverless.yml params.notifyQueues): the stack does not write policies of queues
 * it does not own, as an AWS::SQS::QueuePolicy replaces the queue's whole policy.
 */
function queueSubscriberResources(stage, queue) {
  return subscriberResources(stage, { kind: 'queue', name: queue.name }, { Arn: queue.arn }, {});
}

function notifications(stage, { notifyWebhooks, notifyQueues }) {
  return {
    ...eventBus(stage),
    ...Object.assign({}, ...notifyWebhooks.map((webhook) => webhookResources(stage, webhook))),
    ...Object.assign({}, ...notifyQueues.map((queue) => queueSubscriberResources(stage, queue))),
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
  /**
   * Notifier Errors (Sum over 5 minutes) at or above which to alarm. Failed records are reported,
   * not errors (ReportBatchItemFailures); an error is an invocation that failed as a whole
   * (timeout, crash). Lambda retries a stream batch at once, bisecting it, so one or two errors
   * are a blip it absorbs; a batch that keeps failing is retried up to 10 times within the minute
   * and reaches 3 at once. Each shard waits meanwhile: notifications of its servers stall.
   */
  notifierErrorsPer5Minutes: 3,
  /**
   * Age of the newest record of the notifier's last batch (IteratorAge, Maximum over 5 minutes)
   * above which the notifier has fallen behind the tables' streams. Normally it reads a change
   * within a second or two (batching window 1 s); a minute late, a matchmaker hears of a draining or
   * stale server a minute after it could have acted, and records older than 24 h are dropped to
   * the failure queue. The metric is in milliseconds (alarm Threshold x 1000).
   */
  notifierIteratorAgeSeconds: 60,
  /**
   * Messages visible in the notifier's failure queue or in a subscriber's dead-letter queue
   * (Maximum per minute) above which to alarm: none. Each is a change some subscriber never heard
   * of (records the notifier gave up on, events EventBridge could not deliver in 24 h or that the
   * subscriber refused, e.g. with a 4xx).
   */
  notifyUndeliveredMessages: 0,
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
 * An alarm reads at most MAX_METRICS_PER_ALARM metrics, two per table or index: a table with more
 * than four indexes gets a second alarm for the rest (tableThrottleAlarmIds), and so on.
 */
function tableThrottleAlarms(logicalId, properties) {
  const targets = [
    { TableName: { Ref: logicalId } },
    ...(properties.GlobalSecondaryIndexes ?? []).map((gsi) => ({ TableName: { Ref: logicalId }, GlobalSecondaryIndexName: gsi.IndexName })),
  ];
  const ids = tableThrottleAlarmIds(logicalId, targets.length - 1);
  return Object.fromEntries(
    ids.map((alarmId, part) => {
      const metrics = targets.slice(part * TARGETS_PER_THROTTLE_ALARM, (part + 1) * TARGETS_PER_THROTTLE_ALARM).flatMap((target, index) => [
        metricSum(`read${index}`, 'AWS/DynamoDB', 'ReadThrottleEvents', target),
        metricSum(`write${index}`, 'AWS/DynamoDB', 'WriteThrottleEvents', target),
      ]);
      const which = ids.length > 1 ? ` (part ${part + 1} of ${ids.length} of the table and its indexes)` : '';
      const alarmResource = mathAlarm(
        `DynamoDB throttles ${properties.TableName} (reads or writes, table or index) for minutes: hot partition, warm throughput or table quota (docs/SCALING.md).${which}`,
        {
          metrics,
          // FILL: each metric only has datapoints in minutes with throttling.
          expression: `SUM(FILL([${metrics.map((metric) => metric.Id).join(', ')}], 0))`,
          label: `${properties.TableName} throttle events`,
        },
        { ...SUSTAINED, Threshold: ALARM_THRESHOLDS.tableThrottleEventsPerMinute, ComparisonOperator: 'GreaterThanThreshold' },
      );
      return [alarmId, alarmResource];
    }),
  );
}

/** Tables and indexes one throttle alarm watches (two metrics each). */
const TARGETS_PER_THROTTLE_ALARM = MAX_METRICS_PER_ALARM / 2;

/**
 * The throttle alarms of a table with `indexCount` global secondary indexes: `GameServerStatusTable`
 * -> [`GameServerStatusTableThrottleAlarm`, `GameServerStatusTableThrottleAlarm2`, ...], one per
 * five of the table and its indexes.
 */
function tableThrottleAlarmIds(tableLogicalId, indexCount) {
  const count = Math.ceil((indexCount + 1) / TARGETS_PER_THROTTLE_ALARM);
  return Array.from({ length: count }, (_, part) => `${tableLogicalId}ThrottleAlarm${part === 0 ? '' : part + 1}`);
}

function alarms(stage, { alarmEmail, notifyWebhooks, notifyQueues }, tableResources) {
  const T = ALARM_THRESHOLDS;
  const poller = { FunctionName: { Ref: FRAMEWORK_LOGICAL_IDS.statusPollerFunction } };
  const notifier = { FunctionName: { Ref: FRAMEWORK_LOGICAL_IDS.notifierFunction } };
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
    ...Object.assign({}, ...Object.entries(tableResources).map(([logicalId, resource]) => tableThrottleAlarms(logicalId, resource.Properties))),
    [LOGICAL_IDS.notifierFailureAlarm]: undeliveredAlarm(
      LOGICAL_IDS.notifierFailureQueue,
      'The notifier gave up on stream records (retries or 24 h record age exhausted): their changes were not published. Each message names the stream, shard and sequence numbers; see the notifier logs.',
    ),
    [LOGICAL_IDS.notifierErrorsAlarm]: metricAlarm(
      'Notifier invocations keep failing as a whole (timeout, crash): the tables\' streams stall and notifications are late. See its logs.',
      ['AWS/Lambda', 'Errors', notifier],
      { Statistic: 'Sum', Period: 300, Threshold: T.notifierErrorsPer5Minutes, ComparisonOperator: 'GreaterThanOrEqualToThreshold' },
    ),
    [LOGICAL_IDS.notifierIteratorAgeAlarm]: metricAlarm(
      `The notifier lags more than ${T.notifierIteratorAgeSeconds} s behind the tables' streams: subscribers hear of changes late.`,
      ['AWS/Lambda', 'IteratorAge', notifier],
      { Statistic: 'Maximum', Period: 300, Threshold: T.notifierIteratorAgeSeconds * 1000, ComparisonOperator: 'GreaterThanThreshold' },
    ),
    ...Object.fromEntries(
      [
        ...notifyWebhooks.map((webhook) => ({ kind: 'webhook', name: webhook.name, what: `webhook ${webhook.name}` })),
        ...notifyQueues.map((queue) => ({ kind: 'queue', name: queue.name, what: `queue ${queue.arn}` })),
      ].map(({ what, ...subscriber }) => {
        const ids = notifySubscriberIds(subscriber);
        return [
          ids.deadLetterAlarm,
          undeliveredAlarm(
            ids.deadLetterQueue,
            `Notifications to ${what} were not delivered (refused, e.g. with a 4xx, or failing for 24 h) and wait in its dead-letter queue.`,
          ),
        ];
      }),
    ),
  };
}

/** Any message visible in a queue of undelivered notifications. */
function undeliveredAlarm(queueLogicalId, description) {
  return metricAlarm(description, ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: queueName(queueLogicalId) }], {
    Statistic: 'Maximum',
    Period: 60,
    Threshold: ALARM_THRESHOLDS.notifyUndeliveredMessages,
    ComparisonOperator: 'GreaterThanThreshold',
  });
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
 * The stateful part of the stack for one stage, its notification bus and subscribers, its alarms
 * and conditions. Options are the stage parameters of serverless.yml; without them: no deletion
 * protection, no alarm e-mail, no subscriber. `region` (the stack's) refuses subscriber queues of
 * other regions; left out, they are not checked.
 * @param {string} stage
 * @param {{ deletionProtection?: boolean | string, alarmEmail?: string, notifyWebhooks?: string | object[],
 *           notifyQueues?: string | string[], region?: string }} [options]
 */
function buildResources(stage, options = {}) {
  const settings = checkOptions(options);
  const tableResources = tables(stage, settings);
  return {
    names: physicalNames(stage),
    resources: {
      ...tableResources,
      ...queues(stage),
      ...notifications(stage, settings),
      ...alarms(stage, settings, tableResources),
    },
    conditions: conditions(settings),
    accessLogFormat: ACCESS_LOG_FORMAT,
  };
}

/** Stage parameters arrive as YAML values or, from `--param`, as strings. */
function checkOptions({ deletionProtection = false, alarmEmail = '', notifyWebhooks, notifyQueues, region }) {
  const protection = { true: true, false: false }[String(deletionProtection)];
  if (protection === undefined) throw new Error(`serverless.yml params.tableDeletionProtection: ${deletionProtection} is not true or false`);
  const email = String(alarmEmail ?? '').trim();
  // One plain address: SNS takes the endpoint as it is, and a list would be one bad address.
  if (email !== '' && !/^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/.test(email)) {
    throw new Error(`serverless.yml params.alarmEmail: ${email} is not one e-mail address`);
  }
  return {
    deletionProtection: protection,
    alarmEmail: email,
    notifyWebhooks: checkNotifyWebhooks(notifyWebhooks),
    notifyQueues: checkNotifyQueues(notifyQueues, region),
  };
}

/**
 * Entry point for serverless.yml: `${file(./infra/resources.cjs):resources}`, `:conditions`,
 * `:accessLogFormat` and `:names`.
 */
async function resolveForServerless({ resolveVariable }) {
  const [stage, region, deletionProtection, alarmEmail, notifyWebhooks, notifyQueues] = await Promise.all([
    resolveVariable('sls:stage'),
    resolveVariable('self:provider.region'),
    resolveVariable('param:tableDeletionProtection'),
    resolveVariable('param:alarmEmail'),
    resolveVariable('param:notifyWebhooks'),
    resolveVariable('param:notifyQueues'),
  ]);
  return buildResources(stage, { deletionProtection, alarmEmail, notifyWebhooks, notifyQueues, region });
}

module.exports = resolveForServerless;
module.exports.buildResources = buildResources;
module.exports.physicalNames = physicalNames;
module.exports.LOGICAL_IDS = LOGICAL_IDS;
module.exports.FRAMEWORK_LOGICAL_IDS = FRAMEWORK_LOGICAL_IDS;
module.exports.CONDITIONS = CONDITIONS;
module.exports.ALARM_THRESHOLDS = ALARM_THRESHOLDS;
module.exports.ACCESS_LOG_FORMAT = ACCESS_LOG_FORMAT;
module.exports.tableThrottleAlarmIds = tableThrottleAlarmIds;
module.exports.AVAILABILITY_INDEXES = AVAILABILITY_INDEXES;
module.exports.NODE_INDEX = NODE_INDEX;
module.exports.LB_INDEXES = LB_INDEXES;
module.exports.STALE_WATCH_INDEX = STALE_WATCH_INDEX;
module.exports.FEED_KEY = FEED_KEY;
module.exports.TTL_ATTRIBUTE = TTL_ATTRIBUTE;
module.exports.MAX_RECEIVE_COUNT = MAX_RECEIVE_COUNT;
module.exports.STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS = STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS;
module.exports.EVENT_SOURCE = EVENT_SOURCE;
module.exports.WEBHOOK_SECRET_HEADER = WEBHOOK_SECRET_HEADER;
module.exports.CLOUDEVENTS_CONTENT_TYPE = CLOUDEVENTS_CONTENT_TYPE;
module.exports.NOTIFY_DELIVERY = NOTIFY_DELIVERY;
module.exports.checkNotifyWebhooks = checkNotifyWebhooks;
module.exports.checkNotifyQueues = checkNotifyQueues;
module.exports.notifySubscriberIds = notifySubscriberIds;
