// The function catalogue: one entry per Lambda, with its trigger and the table access it needs.
// serverless.yml builds its `functions` and per-function IAM roles from this list; the local HTTP
// server (scripts/local/http-server.ts) serves the same routes from it. Add a route here once.
'use strict';

const read = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];

/**
 * @typedef {{ table: 'gameServerTable' | 'loadBalancerTable' | 'claimTable', actions: string[], indexes?: boolean }} TableAccess
 * @typedef {{ name: string, file: string, description: string, http?: { method: string, path: string, public?: boolean },
 *             sqs?: { queue: 'statusQueue', batchSize: number, maximumBatchingWindow: number }, access: TableAccess[],
 *             timeout?: number, memorySize?: number }} FunctionDefinition
 * @type {FunctionDefinition[]}
 */
const FUNCTIONS = [
  {
    name: 'status-poller',
    file: 'functions/status-poller.ts',
    description: 'Applies game-server and load-balancer lifecycle events from SQS to DynamoDB',
    sqs: { queue: 'statusQueue', batchSize: 10, maximumBatchingWindow: 1 },
    timeout: 10,
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:GetItem', 'dynamodb:PutItem'] },
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
];

module.exports = FUNCTIONS;
module.exports.FUNCTIONS = FUNCTIONS;
module.exports.READ_ACTIONS = read;
