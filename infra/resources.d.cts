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
  Properties: Record<string, any>;
}
export interface IndexDefinition {
  indexName: string;
  partitionKey: string;
  sortKey?: string;
}
declare function resolveForServerless(context: {
  resolveVariable: (address: string) => Promise<string>;
}): Promise<{ names: PhysicalNames; resources: Record<string, CfnResource> }>;
declare namespace resolveForServerless {
  function buildResources(stage: string): { names: PhysicalNames; resources: Record<string, CfnResource> };
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
  };
  const AVAILABILITY_INDEXES: { all: IndexDefinition; region: IndexDefinition; group: IndexDefinition };
  const NODE_INDEX: Required<IndexDefinition>;
  const LB_INDEXES: { fleet: Required<IndexDefinition>; region: Required<IndexDefinition> };
  const TTL_ATTRIBUTE: string;
  const MAX_RECEIVE_COUNT: number;
  const STATUS_QUEUE_VISIBILITY_TIMEOUT_SECONDS: number;
}
export = resolveForServerless;
