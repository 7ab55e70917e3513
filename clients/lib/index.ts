// The pods' side of the inventory, as a library: what the gs-agent, lb-bootstrap and
// node-drain-watcher commands (clients/cli/) are made of. No AWS Lambda types, no process.env.
export { backoffDelay, sleep, type BackoffPolicy } from './backoff';
export {
  EventSequence,
  gameServerMessage,
  generationUid,
  loadBalancerMessage,
  nodeMessage,
  type GameServerIdentity,
  type LoadBalancerIdentity,
  type NodeIdentity,
} from './events';
export { GameServerAgent, type AgentPhase, type GameServerAgentOptions } from './gs-agent';
export { DEFAULT_IMDS_URL, InstanceMetadataClient, InterruptionMonitor, type InterruptionNotice } from './imds';
export { InventoryApiClient, type ApiResult, type ClaimRequest, type ReplaceRequest } from './api-client';
export {
  claimServersForLoadBalancer,
  ClaimWatcher,
  type ClaimWatcherOptions,
  type LostServerReplacement,
  isUsable,
  loadBalancerClaimId,
  LoadBalancerReporter,
  renderForClaim,
  type LoadBalancerClaimOptions,
  type LoadBalancerClaimResult,
} from './lb-bootstrap';
export { jsonLogger, silentLogger, type AgentLogger, type LogLevel } from './log';
export { DEFAULT_STREAM_TEMPLATE, renderStreamConfig, renderTemplate, TemplateError, writeFileAtomic } from './nginx-config';
export { NodeDrainWatcher, sendNodeEvent, type NodeDrainWatcherOptions } from './node-drain-watcher';
export { SqsEventSender, regionOfQueueUrl, type EventSender, type SendResult } from './sender';
export { superviseGameServer, type SuperviseOptions } from './supervise';
