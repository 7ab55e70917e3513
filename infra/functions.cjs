// The function catalogue, the one route registry: one entry per Lambda, with its trigger (an HTTP
// route, the status queue, the tables' streams or a schedule), who may call it and the access it
// needs. Generated from it: serverless.yml's `functions` and per-function IAM roles
// (infra/serverless-functions.cjs), the local HTTP server's routes
// (scripts/local/http-server.ts), each handler's roles (lib/http/routes.ts routeSpec) and the
// OpenAPI paths (lib/http/openapi.ts). Add a route here once, and its request and response schemas
// under the same name in lib/http/routes.ts ROUTE_SCHEMAS (the typed half; a test holds the two
// halves to the same names).
// Plain CommonJS: serverless.yml reads it at package time without a TypeScript loader; its types
// are in infra/functions.d.cts.
'use strict';

const { STALE_WATCH_INDEX } = require('./resources.cjs');

/** Every caller role (lib/auth/keys.ts RoleSchema is built from this list). */
const ROLES = Object.freeze(['matchmaker', 'load-balancer', 'reader', 'admin']);
/** Every authenticated caller: the GET routes. */
const ANY_ROLE = ROLES;
/** Callers that may claim, confirm and release servers (their own; an admin anyone's). */
const CLAIMERS = Object.freeze(['matchmaker', 'load-balancer', 'admin']);

/**
 * @typedef {(typeof ROLES)[number]} Role
 * @typedef {{ table: 'gameServerTable' | 'loadBalancerTable' | 'claimTable' | 'nodeTable' | 'eventFeedTable', actions: string[], indexes?: boolean, index?: string }} TableAccess
 * @typedef {{ method: string, path: string, summary: string } & ({ public: true } | { roles: readonly Role[] })} HttpRoute
 * @typedef {{ tables: ('gameServerTable' | 'loadBalancerTable')[], startingPosition: 'LATEST' | 'TRIM_HORIZON', batchSize: number,
 *             maximumBatchingWindow: number, bisectBatchOnFunctionError: boolean, maximumRetryAttempts: number,
 *             maximumRecordAgeInSeconds: number, parallelizationFactor: number, onFailure: 'notifierFailureQueue' }} StreamTrigger
 * @typedef {{ name: string, file: string, description: string, http?: HttpRoute,
 *             sqs?: { queue: 'statusQueue', batchSize: number, maximumBatchingWindow: number },
 *             stream?: StreamTrigger, schedule?: string, publishTo?: 'eventBus', access: TableAccess[],
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
    http: {
      method: 'GET',
      path: '/health',
      public: true,
      summary: 'Liveness',
    },
    access: [],
  },
  {
    name: 'get-available-gs',
    file: 'functions/get-available-gs.ts',
    description: 'Lists available game servers from the availability indexes',
    http: {
      method: 'GET',
      path: '/get-available-gs',
      roles: ANY_ROLE,
      summary: 'List available game servers (fresh, not draining, unclaimed or lease expired)',
    },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:Query'], indexes: true },
    ],
  },
  {
    name: 'set-gs-busy',
    file: 'functions/set-gs-busy.ts',
    description: 'Claims one named game server straight to busy',
    http: {
      method: 'POST',
      path: '/set-gs-busy/{endpoint}',
      roles: CLAIMERS,
      summary: 'Claim one named server straight to busy until its hold runs out (atomic; the same claimId again renews the hold)',
    },
    access: [{ table: 'gameServerTable', actions: ['dynamodb:UpdateItem'] }],
  },
  {
    name: 'set-gs-available',
    file: 'functions/set-gs-available.ts',
    description: 'Returns a game server set busy to the pool',
    http: {
      method: 'POST',
      path: '/set-gs-available/{endpoint}',
      roles: CLAIMERS,
      summary: 'Return a server set busy under a claimId to the pool (no change, `released: false`, if that claim does not hold it for this caller)',
    },
    access: [{ table: 'gameServerTable', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] }],
  },
  {
    name: 'claim-gs',
    file: 'functions/claim-gs.ts',
    description: 'Finds and claims game servers, all or nothing, under a lease',
    http: {
      method: 'POST',
      path: '/claim-gs',
      roles: CLAIMERS,
      summary: 'Find and claim `count` servers, all or nothing, under a lease; idempotent per claimId',
    },
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
    http: {
      method: 'GET',
      path: '/claims/{claimId}',
      roles: ANY_ROLE,
      summary: 'A claim and its servers',
    },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:BatchGetItem'] },
      { table: 'claimTable', actions: ['dynamodb:GetItem'] },
    ],
  },
  {
    name: 'confirm-claim',
    file: 'functions/confirm-claim.ts',
    description: 'Confirms a leased claim: its servers become busy',
    http: {
      method: 'POST',
      path: '/claims/{claimId}/confirm',
      roles: CLAIMERS,
      summary: "Confirm a leased claim: its servers become busy, held for the claim's holdSeconds (claim and servers in one transaction)",
    },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'] },
      { table: 'claimTable', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    ],
  },
  {
    name: 'renew-claim',
    file: 'functions/renew-claim.ts',
    description: 'Renews a claim: its lease (leased) or hold (confirmed) moves forward',
    http: {
      method: 'POST',
      path: '/claims/{claimId}/renew',
      roles: CLAIMERS,
      summary: "Keep a claim alive: a leased claim's lease or a confirmed claim's hold moves to now + seconds (default: the claim's own)",
    },
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
    http: {
      method: 'POST',
      path: '/claims/{claimId}/release',
      roles: CLAIMERS,
      summary: 'Release a claim: servers it still holds return to the pool (claim and servers in one transaction); replays answer the same',
    },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'] },
      { table: 'claimTable', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    ],
  },
  {
    name: 'replace-claim-server',
    file: 'functions/replace-claim-server.ts',
    description: "Replaces a lost server of a live claim with an available one, under the claim's owner",
    http: {
      method: 'POST',
      path: '/claims/{claimId}/replace',
      roles: CLAIMERS,
      summary: 'Replace a lost server (draining, terminated, stale, gone or taken) of a live claim with an available one on a node of its own; retries answer the same replacement',
    },
    access: [
      // Lists candidates on the availability indexes, reads the claim's servers, claims the
      // replacement (UpdateItem) and releases the lost server (UpdateItem).
      { table: 'gameServerTable', actions: ['dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'], indexes: true },
      // The swap commits in a transaction with the replacement (UpdateItem); an undone replacement
      // is released only while the record does not list it (ConditionCheckItem).
      { table: 'claimTable', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'] },
    ],
  },
  {
    name: 'get-gs',
    file: 'functions/get-gs.ts',
    description: 'Reads one game server',
    http: {
      method: 'GET',
      path: '/gs/{endpoint}',
      roles: ANY_ROLE,
      summary: 'One game server',
    },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:GetItem'] },
    ],
  },
  {
    name: 'get-available-lb',
    file: 'functions/get-available-lb.ts',
    description: 'Lists active load balancers',
    http: {
      method: 'GET',
      path: '/get-available-lb',
      roles: ANY_ROLE,
      summary: 'Active load balancers',
    },
    access: [
      { table: 'loadBalancerTable', actions: ['dynamodb:Query'], indexes: true },
    ],
  },
  {
    name: 'inventory',
    file: 'functions/inventory.ts',
    description: 'Counts game servers by status and region',
    http: {
      method: 'GET',
      path: '/inventory',
      roles: ANY_ROLE,
      summary: 'Counts by status and region (at most 10 s old)',
    },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:Query'], indexes: true },
    ],
  },
  {
    name: 'fleet',
    file: 'functions/fleet.ts',
    description: 'Lists every game server with its claim, for dashboards',
    http: {
      method: 'GET',
      path: '/fleet',
      roles: ANY_ROLE,
      summary: "Every server (or a region's, a group's) with its status, node and claim: owner and times for all, the claim id for its owner (read at most every 2 s)",
    },
    access: [
      { table: 'gameServerTable', actions: ['dynamodb:Query'], indexes: true },
    ],
  },
  {
    name: 'recent-events',
    file: 'functions/recent-events.ts',
    description: 'The latest lifecycle notifications, for dashboards',
    http: {
      method: 'GET',
      path: '/events/recent',
      roles: ANY_ROLE,
      summary: 'The latest lifecycle notifications (of the last hour), newest first',
    },
    access: [{ table: 'eventFeedTable', actions: ['dynamodb:Query'] }],
  },
  {
    name: 'dashboard',
    file: 'functions/dashboard.ts',
    description: 'The fleet dashboard page',
    http: {
      method: 'GET',
      path: '/dashboard',
      // The page and its assets hold no data: the page asks for a key and calls the GET routes with it.
      public: true,
      summary: 'The fleet dashboard (HTML; its data comes from the GET routes, with the key it asks for)',
    },
    access: [],
  },
  {
    name: 'dashboard-asset',
    file: 'functions/dashboard-asset.ts',
    description: "The dashboard's script and style sheet",
    http: {
      method: 'GET',
      path: '/dashboard/assets/{file}',
      public: true,
      summary: "The dashboard's bundled script and style sheet (content-hashed names, cached for a year)",
    },
    access: [],
  },
  {
    name: 'asyncapi',
    file: 'functions/asyncapi.ts',
    description: 'The AsyncAPI 3.0 document of the lifecycle notifications',
    http: {
      method: 'GET',
      path: '/events/asyncapi.json',
      roles: ANY_ROLE,
      summary: 'The notifications: every event type and its versioned schema (AsyncAPI 3.0)',
    },
    access: [],
  },
  {
    name: 'openapi',
    file: 'functions/openapi.ts',
    description: 'The OpenAPI 3.1 document of this API',
    http: {
      method: 'GET',
      path: '/openapi.json',
      roles: ANY_ROLE,
      summary: 'This document',
    },
    access: [],
  },
  {
    name: 'notifier',
    file: 'functions/notifier.ts',
    description: "Publishes lifecycle notifications from the tables' streams to the stage's event bus",
    // One event source mapping per table stream. Records of one item share a shard, and a shard's
    // batches run one at a time (parallelizationFactor 1), each resuming at the first record the
    // handler reports failed (ReportBatchItemFailures): a server's notifications go out in order.
    stream: {
      tables: ['gameServerTable', 'loadBalancerTable'],
      // A new mapping starts at the changes made from then on, not at 24 h of past ones.
      startingPosition: 'LATEST',
      batchSize: 100,
      maximumBatchingWindow: 1,
      // A batch that fails as a whole is split in two to isolate the record that fails.
      bisectBatchOnFunctionError: true,
      // A shard stalls while its first failing record is retried; after 10 attempts, or once the
      // record is as old as the stream keeps it (24 h), its batch's position goes to the failure
      // queue (alarmed) and the shard moves on.
      maximumRetryAttempts: 10,
      maximumRecordAgeInSeconds: 86400,
      parallelizationFactor: 1,
      onFailure: 'notifierFailureQueue',
    },
    // EVENT_BUS_NAME and events:PutEvents on that bus.
    publishTo: 'eventBus',
    timeout: 30,
    memorySize: 512,
    // Everything it tells is in the stream records (both images); it only appends what it
    // published to the recent-events feed (one PutItem per batch).
    access: [{ table: 'eventFeedTable', actions: ['dynamodb:PutItem'] }],
  },
  {
    name: 'stale-sweep',
    file: 'functions/stale-sweep.ts',
    description: 'Marks held game servers whose heartbeats stopped as stale',
    schedule: 'rate(1 minute)',
    timeout: 60,
    access: [
      // Reads only the sparse stale-watch index (held servers past their heartbeat deadline),
      // never the table or its other indexes.
      { table: 'gameServerTable', actions: ['dynamodb:Query'], index: STALE_WATCH_INDEX.indexName },
      // Marks each stale, conditionally: the stream then tells its holder (notifier).
      { table: 'gameServerTable', actions: ['dynamodb:UpdateItem'] },
    ],
  },
];

/** The catalogue entry of an HTTP route, by function name; throws for a name that is not one. */
function httpRoute(name) {
  const definition = FUNCTIONS.find((candidate) => candidate.name === name);
  if (!definition || !definition.http) throw new Error(`infra/functions.cjs: no HTTP route named ${name}`);
  return definition.http;
}

module.exports = FUNCTIONS;
module.exports.FUNCTIONS = FUNCTIONS;
module.exports.ROLES = ROLES;
module.exports.ANY_ROLE = ANY_ROLE;
module.exports.CLAIMERS = CLAIMERS;
module.exports.httpRoute = httpRoute;
