import type { FunctionDefinition } from './functions.cjs';

export interface ServerlessFunctions {
  functions: Record<string, Record<string, unknown>>;
  roles: Record<string, { Type: 'AWS::IAM::Role'; Properties: Record<string, any> }>;
}
export interface PollerLimits<T> {
  /** ScalingConfig.MaximumConcurrency of the SQS event source (2-1000). */
  maximumConcurrency?: T;
  /** ReservedConcurrentExecutions of the queue consumers; at least maximumConcurrency. */
  reservedConcurrency?: T;
}
declare function resolveForServerless(context: {
  resolveVariable: (address: string) => Promise<unknown>;
}): Promise<ServerlessFunctions>;
declare namespace resolveForServerless {
  function buildServerlessFunctions(options: {
    service: string;
    stage: string;
    catalogue?: FunctionDefinition[];
    auth?: { mode?: string; iamPrincipals?: Record<string, string> | string; apiKeysKmsKeyArn?: string };
    /** Limits of the queue consumers (params pollerMaximumConcurrency, pollerReservedConcurrency). */
    pollerLimits?: PollerLimits<number | string>;
  }): ServerlessFunctions;
  function checkPollerLimits(limits?: PollerLimits<number | string>): PollerLimits<number>;
  function apiKeysParameterName(service: string, stage: string): string;
  const AUTH_MODES: string[];
  function functionKey(definition: Pick<FunctionDefinition, 'name'>): string;
  function roleLogicalId(definition: Pick<FunctionDefinition, 'name'>): string;
  function handlerOf(definition: Pick<FunctionDefinition, 'file'>): string;
  const TABLE_ENVIRONMENT: Record<'GAME_SERVER_TABLE' | 'LB_TABLE' | 'CLAIM_TABLE', FunctionDefinition['access'][number]['table']>;
  const SQS_CONSUMER_ACTIONS: string[];
  /** What a function triggered by DynamoDB streams may do on exactly its streams. */
  const STREAM_READER_ACTIONS: string[];
}
export = resolveForServerless;
