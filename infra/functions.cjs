// The function catalogue: one entry per Lambda, with its trigger and the table access it needs.
// serverless.yml builds its `functions` and per-function IAM roles from this list; the local HTTP
// server (scripts/local/http-server.ts) serves the same routes from it. Add a route here once.
'use strict';

/**
 * @typedef {{ table: 'gameServerTable' | 'loadBalancerTable' | 'claimTable' | 'nodeTable', actions: string[], indexes?: boolean }} TableAccess
 * @typedef {{ name: string, file: string, description: string, http?: { method: string, path: string, public?: boolean },
 *             sqs?: { queue: 'statusQueue', batchSize: number, maximumBatchingWindow: number }, access: TableAccess[],
 *             timeout?: number, memorySize?: number }} FunctionDefinition
 * @type {FunctionDefinition[]}
 */
const FUNCTIONS = [
  {
    name: 'status-poller',
    file: 'functions/status-poller.ts',
    description: 'Applies game-server, load-balancer and node lifecycle events from SQS to DynamoDB',
    sqs: { queue: 'statusQueue', batchSize: 10, maximumBatchingWindow: 1 },
    timeout: 10,
    access: [
      // Records are written conditionally on their version; a node drain reads its node's servers
      // in batches, a batch of events reads its nodes' records in one go (lib/nodes).
      { table: 'gameServerTable', actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem'] },
      // A node drain finds the node's servers through the by-node index (Query, never Scan).
      { table: 'gameServerTable', actions: ['dynamodb:Query'], indexes: true },
      { table: 'nodeTable', actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem'] },
      { table: 'loadBalancerTable', actions: ['dynamodb:GetItem', 'dynamodb:PutItem'] },
    ],
  },
  {
    name: 'health',
    file: 'functions/health.ts',
    description: 'Liveness of the API',
    http: { method: 'GET', path: '/health', public: true },
    access: [],
  },
  {
    name: 'get-available-gs',
    file: 'functions/get-available-gs.ts',
    description: 'Lists available game servers from the availability indexes',
    http: { method: 'GET', path: '/get-available-gs' },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:Query'], indexes: true },
    ],
  },
  {
    name: 'set-gs-busy',
    file: 'functions/set-gs-busy.ts',
    description: 'Claims one named game server straight to busy',
    http: { method: 'POST', path: '/set-gs-busy/{endpoint}' },
    access: [{ table: 'gameServerTable', actions: ['dynamodb:UpdateItem'] }],
  },
  {
    name: 'set-gs-available',
    file: 'functions/set-gs-available.ts',
    description: 'Returns a game server set busy to the pool',
    http: { method: 'POST', path: '/set-gs-available/{endpoint}' },
    access: [{ table: 'gameServerTable', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] }],
  },
  {
    name: 'claim-gs',
    file: 'functions/claim-gs.ts',
    description: 'Finds and claims game servers, all or nothing, under a lease',
    http: { method: 'POST', path: '/claim-gs' },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'], indexes: true },
      // PutItem: the claim record, written once (the commit point); GetItem: retries read it.
      { table: 'claimTable', actions: ['dynamodb:GetItem', 'dynamodb:PutItem'] },
    ],
  },
  {
    name: 'get-claim',
    file: 'functions/get-claim.ts',
    description: 'Reads a claim and its servers',
    http: { method: 'GET', path: '/claims/{claimId}' },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:BatchGetItem'] },
      { table: 'claimTable', actions: ['dynamodb:GetItem'] },
    ],
  },
  {
    name: 'confirm-claim',
    file: 'functions/confirm-claim.ts',
    description: 'Confirms a leased claim: its servers become busy',
    http: { method: 'POST', path: '/claims/{claimId}/confirm' },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'] },
      { table: 'claimTable', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    ],
  },
  {
    name: 'renew-claim',
    file: 'functions/renew-claim.ts',
    description: 'Renews a claim: its lease (leased) or hold (confirmed) moves forward',
    http: { method: 'POST', path: '/claims/{claimId}/renew' },
    access: [
      // The record and its servers move together in one TransactWriteItems (UpdateItem per item).
      { table: 'gameServerTable', actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'] },
      { table: 'claimTable', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    ],
  },
  {
    name: 'release-claim',
    file: 'functions/release-claim.ts',
    description: 'Releases a claim: servers it still holds return to the pool',
    http: { method: 'POST', path: '/claims/{claimId}/release' },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'] },
      { table: 'claimTable', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    ],
  },
  {
    name: 'get-gs',
    file: 'functions/get-gs.ts',
    description: 'Reads one game server',
    http: { method: 'GET', path: '/gs/{endpoint}' },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:GetItem'] },
    ],
  },
  {
    name: 'get-available-lb',
    file: 'functions/get-available-lb.ts',
    description: 'Lists active load balancers',
    http: { method: 'GET', path: '/get-available-lb' },
    access: [
      { table: 'loadBalancerTable', actions: ['dynamodb:Query'], indexes: true },
    ],
  },
  {
    name: 'inventory',
    file: 'functions/inventory.ts',
    description: 'Counts game servers by status and region',
    http: { method: 'GET', path: '/inventory' },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:Query'], indexes: true },
    ],
  },
  {
    name: 'openapi',
    file: 'functions/openapi.ts',
    description: 'The OpenAPI 3.1 document of this API',
    http: { method: 'GET', path: '/openapi.json' },
    access: [],
  },
];

module.exports = FUNCTIONS;
module.exports.FUNCTIONS = FUNCTIONS;
