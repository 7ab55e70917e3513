export interface TableAccess {
  table: 'gameServerTable' | 'loadBalancerTable' | 'claimTable' | 'nodeTable';
  actions: string[];
  /** Also grant the actions on the table's indexes. */
  indexes?: boolean;
}
export interface FunctionDefinition {
  name: string;
  file: string;
  description: string;
  http?: { method: string; path: string; public?: boolean };
  sqs?: { queue: 'statusQueue'; batchSize: number; maximumBatchingWindow: number };
  access: TableAccess[];
  timeout?: number;
  memorySize?: number;
}
declare const FUNCTIONS: FunctionDefinition[] & { FUNCTIONS: FunctionDefinition[] };
export = FUNCTIONS;
