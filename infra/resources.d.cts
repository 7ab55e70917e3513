export interface PhysicalNames {
  gameServerTable: string;
  loadBalancerTable: string;
  claimTable: string;
  nodeTable: string;
  statusQueue: string;
  statusDeadLetterQueue: string;
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
    statusQueue: string;
    statusDeadLetterQueue: string;
    deadLetterAlarm: string;
    alarmTopic: string;
    alarmEmailSubscription: string;
    pollerErrorsAlarm: string;
    pollerThrottlesAlarm: string;
    statusQueueAgeAlarm: string;
    api5xxAlarm: string;
  };
  const FRAMEWORK_LOGICAL_IDS: { httpApi: string; httpApiStage: string; statusPollerFunction: string };
  const CONDITIONS: { hasAlarmEmail: string };
  const ALARM_THRESHOLDS: {
    pollerErrorsPer5Minutes: number;
    pollerThrottlesPerMinute: number;
    statusQueueMaxAgeSeconds: number;
    api5xxRatePercent: number;
    api5xxMinRequestsPerMinute: number;
    tableThrottleEventsPerMinute: number;
  };
  const ACCESS_LOG_FORMAT: string;
  function tableThrottleAlarmId(tableLogicalId: string): string;
  const AVAILABILITY_INDEXES: { all: IndexDefinition; region: IndexDefinition; group: IndexDefinition };
  const NODE_INDEX: Required<IndexDefinition>;
  const LB_INDEXES: { fleet: Required<IndexDefinition>; region: Required<IndexDefinition> };
  const TTL_ATTRIBUTE: string;
  const MAX_RECEIVE_COUNT: number;
  const STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS: number;
}
export = resolveForServerless;
