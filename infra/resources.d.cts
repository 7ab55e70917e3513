export interface PhysicalNames {
  gameServerTable: string;
  loadBalancerTable: string;
  claimTable: string;
  nodeTable: string;
  eventFeedTable: string;
  statusQueue: string;
  statusDeadLetterQueue: string;
  /** The stage's notification bus, `gs-inventory-<stage>`. */
  eventBus: string;
  /** Batches the notifier gave up on, `notifier-failures-<stage>`. */
  notifierFailureQueue: string;
}
export interface CfnResource {
  Type: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  /** A condition of the stack (`conditions`); the resource exists only where it holds. */
  Condition?: string;
  Properties: Record<string, any>;
}
/** Stage parameters of serverless.yml that shape the resources. */
export interface ResourceOptions {
  /** params.tableDeletionProtection: DeletionProtectionEnabled of every table. Default false. */
  deletionProtection?: boolean | string;
  /** params.alarmEmail: subscribed to the alarm topic; '' (default) subscribes nobody. */
  alarmEmail?: string;
  /** params.notifyWebhooks: a JSON string (or list) of NotifyWebhook; default none. */
  notifyWebhooks?: string | NotifyWebhook[];
  /** params.notifyQueues: a JSON string (or list) of SQS queue ARNs; default none. */
  notifyQueues?: string | string[];
  /** The stack's region: subscriber queues of other regions are refused. Left out: not checked. */
  region?: string;
}
/** A webhook subscriber (params.notifyWebhooks). */
export interface NotifyWebhook {
  /** kebab-case, 1-40 characters, unique; names its resources. */
  name: string;
  /** https endpoint receiving a POST per notification, the CloudEvent as the body. */
  url: string;
  /** Secrets Manager secret whose SecretString is sent in the WEBHOOK_SECRET_HEADER header. */
  secretArn: string;
}
/** A queue subscriber (params.notifyQueues), named after its queue. */
export interface NotifyQueue {
  name: string;
  arn: string;
}
/** Logical ids of one subscriber's resources (connection, destination and role: webhooks only). */
export interface NotifySubscriberIds {
  connection: string;
  destination: string;
  role: string;
  rule: string;
  deadLetterQueue: string;
  deadLetterQueuePolicy: string;
  deadLetterAlarm: string;
}
export interface StackResources {
  names: PhysicalNames;
  resources: Record<string, CfnResource>;
  /** CloudFormation conditions (intrinsic functions) by name. */
  conditions: Record<string, Record<string, unknown>>;
  /** provider.logs.httpApi.format: the HTTP API access log format (JSON). */
  accessLogFormat: string;
}
export interface IndexDefinition {
  indexName: string;
  partitionKey: string;
  sortKey?: string;
}
declare function resolveForServerless(context: {
  resolveVariable: (address: string) => Promise<unknown>;
}): Promise<StackResources>;
declare namespace resolveForServerless {
  function buildResources(stage: string, options?: ResourceOptions): StackResources;
  function physicalNames(stage: string): PhysicalNames;
  const LOGICAL_IDS: {
    gameServerTable: string;
    loadBalancerTable: string;
    claimTable: string;
    nodeTable: string;
    eventFeedTable: string;
    statusQueue: string;
    statusDeadLetterQueue: string;
    deadLetterAlarm: string;
    alarmTopic: string;
    alarmEmailSubscription: string;
    pollerErrorsAlarm: string;
    pollerThrottlesAlarm: string;
    statusQueueAgeAlarm: string;
    api5xxAlarm: string;
    eventBus: string;
    notifierFailureQueue: string;
    notifierFailureAlarm: string;
    notifierErrorsAlarm: string;
    notifierIteratorAgeAlarm: string;
  };
  const FRAMEWORK_LOGICAL_IDS: { httpApi: string; httpApiStage: string; statusPollerFunction: string; notifierFunction: string };
  const CONDITIONS: { hasAlarmEmail: string };
  const ALARM_THRESHOLDS: {
    pollerErrorsPer5Minutes: number;
    pollerThrottlesPerMinute: number;
    statusQueueMaxAgeSeconds: number;
    api5xxRatePercent: number;
    api5xxMinRequestsPerMinute: number;
    tableThrottleEventsPerMinute: number;
    notifierErrorsPer5Minutes: number;
    notifierIteratorAgeSeconds: number;
    notifyUndeliveredMessages: number;
  };
  const ACCESS_LOG_FORMAT: string;
  /** The throttle alarms of a table with `indexCount` indexes: one per five of the table and its indexes. */
  function tableThrottleAlarmIds(tableLogicalId: string, indexCount: number): string[];
  const AVAILABILITY_INDEXES: { all: IndexDefinition; region: IndexDefinition; group: IndexDefinition };
  const NODE_INDEX: Required<IndexDefinition>;
  const LB_INDEXES: { fleet: Required<IndexDefinition>; region: Required<IndexDefinition> };
  const STALE_WATCH_INDEX: Required<IndexDefinition>;
  const FEED_KEY: { partitionKey: string; sortKey: string };
  const TTL_ATTRIBUTE: string;
  const MAX_RECEIVE_COUNT: number;
  const STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS: number;
  /** `Source` of every entry the notifier puts on the bus (subscriber rules match on it). */
  const EVENT_SOURCE: 'gs-inventory';
  /** Header carrying a webhook's shared secret. */
  const WEBHOOK_SECRET_HEADER: 'webhook-secret';
  /** Content-Type of webhook requests: a CloudEvent in structured mode. */
  const CLOUDEVENTS_CONTENT_TYPE: 'application/cloudevents+json';
  /** Retries and rate limit of the delivery to subscribers (EventBridge rule targets). */
  const NOTIFY_DELIVERY: Readonly<{ maximumEventAgeSeconds: number; maximumRetryAttempts: number; invocationRateLimitPerSecond: number }>;
  /** Checks params.notifyWebhooks; throws a message naming the bad entry. */
  function checkNotifyWebhooks(value: unknown): NotifyWebhook[];
  /** Checks params.notifyQueues (against `region` when given); throws a message naming the bad entry. */
  function checkNotifyQueues(value: unknown, region?: string): NotifyQueue[];
  function notifySubscriberIds(subscriber: { kind: 'webhook' | 'queue'; name: string }): NotifySubscriberIds;
}
export = resolveForServerless;
