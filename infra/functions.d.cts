/** The caller roles, in the order infra/functions.cjs lists them in ROLES. */
type RoleList = readonly ['matchmaker', 'load-balancer', 'reader', 'admin'];
export type Role = RoleList[number];
export interface TableAccess {
  table: 'gameServerTable' | 'loadBalancerTable' | 'claimTable' | 'nodeTable' | 'eventFeedTable';
  actions: string[];
  /** Also grant the actions on the table's indexes. */
  indexes?: boolean;
  /** Grant the actions on this one index of the table only, not on the table (excludes `indexes`). */
  index?: string;
}
/**
 * The function runs on the tables' DynamoDB streams: one event source mapping per table, with
 * partial batch responses (ReportBatchItemFailures).
 */
export interface StreamTrigger {
  tables: ('gameServerTable' | 'loadBalancerTable')[];
  startingPosition: 'LATEST' | 'TRIM_HORIZON';
  batchSize: number;
  /** Seconds (MaximumBatchingWindowInSeconds). */
  maximumBatchingWindow: number;
  bisectBatchOnFunctionError: boolean;
  maximumRetryAttempts: number;
  maximumRecordAgeInSeconds: number;
  parallelizationFactor: number;
  /** The queue (infra/resources.cjs LOGICAL_IDS key) receiving batches given up on. */
  onFailure: 'notifierFailureQueue';
}
/** An HTTP route: either public (no key: health) or open to the listed roles. */
export type HttpRoute = {
  method: string;
  path: string;
  /** The OpenAPI operation's summary. */
  summary: string;
} & ({ public: true; roles?: never } | { public?: false; roles: readonly Role[] });
export interface FunctionDefinition {
  name: string;
  file: string;
  description: string;
  http?: HttpRoute;
  sqs?: { queue: 'statusQueue'; batchSize: number; maximumBatchingWindow: number };
  stream?: StreamTrigger;
  /** An EventBridge schedule expression, e.g. `rate(1 minute)`. */
  schedule?: string;
  /** The function puts events on the stage's bus: EVENT_BUS_NAME and events:PutEvents on it. */
  publishTo?: 'eventBus';
  access: TableAccess[];
  timeout?: number;
  memorySize?: number;
}
declare const FUNCTIONS: FunctionDefinition[] & {
  FUNCTIONS: FunctionDefinition[];
  /** Every caller role (lib/auth/keys.ts RoleSchema is built from it). */
  ROLES: RoleList;
  /** Every authenticated caller. */
  ANY_ROLE: readonly Role[];
  /** Callers that may claim, confirm and release servers. */
  CLAIMERS: readonly Role[];
  /** The catalogue entry of an HTTP route, by function name; throws for a name that is not one. */
  httpRoute(name: string): HttpRoute;
};
export = FUNCTIONS;
