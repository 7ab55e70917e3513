// Builds serverless.yml's `functions` and one least-privilege IAM role per function from the
// function catalogue (infra/functions.cjs). serverless.yml resolves it through
// `${file(./infra/serverless-functions.cjs):functions}` and `:roles`; a new catalogue entry is
// deployed, routed and granted its table access without touching the YAML.
//
// Generated values never contain `${...}`: the framework would try to resolve it as one of its own
// variables. ARNs are therefore assembled with Fn::Join instead of Fn::Sub.
'use strict';

const FUNCTIONS = require('./functions.cjs');
const { ROLES } = require('./functions.cjs');
const { LOGICAL_IDS, buildResources } = require('./resources.cjs');

/**
 * The stack's resources as infra/resources.cjs builds them, to check catalogue entries against
 * (which tables have streams, which indexes, which keys are queues): none of that depends on the stage.
 */
const RESOURCE_SHAPES = buildResources('catalogue').resources;
const resourceOf = (key) => (Object.hasOwn(LOGICAL_IDS, key) ? RESOURCE_SHAPES[LOGICAL_IDS[key]] : undefined);

/** Environment variable -> catalogue table key. Every function gets all three (lib/config.ts). */
const TABLE_ENVIRONMENT = {
  GAME_SERVER_TABLE: 'gameServerTable',
  LB_TABLE: 'loadBalancerTable',
  CLAIM_TABLE: 'claimTable',
};

/** What the Lambda SQS poller needs on the queue; ChangeMessageVisibility lets it back off failed items. */
const SQS_CONSUMER_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ChangeMessageVisibility',
];

/** What the Lambda stream poller needs on a DynamoDB stream (AWS: "Amazon DynamoDB Streams with Lambda"). */
const STREAM_READER_ACTIONS = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
];

/** How callers authenticate (SECURITY.md): `api-key` (keys checked by the functions) or `iam` (SigV4 at API Gateway). */
const AUTH_MODES = ['api-key', 'iam'];

/** The SSM SecureString parameter holding a stage's API key digests (created by `npm run keys`, not by the stack). */
const apiKeysParameterName = (service, stage) => `/${service}/${stage}/api-keys`;

/** Lambda function names are limited to 64 characters. */
const MAX_FUNCTION_NAME_LENGTH = 64;

const pascalCase = (name) => name.replace(/(^|-)([a-z0-9])/g, (_, __, c) => c.toUpperCase());
const camelCase = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

/** `status-poller` -> `statusPoller` (the framework's function key; its logical ids derive from it). */
const functionKey = (definition) => camelCase(definition.name);
/** `status-poller` -> `StatusPollerExecutionRole`. */
const roleLogicalId = (definition) => `${pascalCase(definition.name)}ExecutionRole`;
/** `functions/health.ts` -> `functions/health.handler` (serverless-esbuild finds the .ts source). */
const handlerOf = (definition) => `${definition.file.replace(/\.[cm]?[jt]s$/, '')}.handler`;

const arnOf = (logicalId) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const streamArnOf = (logicalId) => ({ 'Fn::GetAtt': [logicalId, 'StreamArn'] });
const indexArnOf = (logicalId, index) => ({ 'Fn::Join': ['', [arnOf(logicalId), `/index/${index}`]] });

/** arn:<partition>:logs:<region>:<account>:log-group:<name><suffix> */
function logGroupArn(logGroupName, suffix) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':logs:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:log-group:${logGroupName}${suffix}`,
      ],
    ],
  };
}

/** arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading slash> */
function ssmParameterArn(parameterName) {
  return {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:parameter${parameterName}`]],
  };
}

/**
 * Checks and normalises the authentication settings of a stage (serverless.yml `params`):
 * `auth` (api-key | iam), `iamPrincipals` ({ "<IAM role or user ARN>": "<role>" }, object or JSON),
 * `apiKeysKmsKeyArn` (a customer managed key encrypting the parameter; empty for aws/ssm).
 */
function checkAuth(auth) {
  const mode = auth.mode ?? 'api-key';
  if (!AUTH_MODES.includes(mode)) throw new Error(`serverless.yml params.auth: ${mode} is not one of ${AUTH_MODES.join(', ')}`);
  let principals = auth.iamPrincipals ?? {};
  if (typeof principals === 'string') {
    try {
      principals = JSON.parse(principals || '{}');
    } catch {
      throw new Error('serverless.yml params.iamPrincipals: not valid JSON');
    }
  }
  if (!principals || typeof principals !== 'object' || Array.isArray(principals)) {
    throw new Error('serverless.yml params.iamPrincipals: expected { "<IAM role or user ARN>": "<role>" }');
  }
  for (const [arn, role] of Object.entries(principals)) {
    // As lib/auth/iam.ts parses them: exact role or user ARNs; the name part allows no wildcard.
    if (!/^arn:aws[a-z-]*:iam::\d{12}:(role|user)(\/[\x21-\x7e]*)?\/[\w+=,.@-]{1,64}$/.test(arn)) throw new Error(`serverless.yml params.iamPrincipals: ${arn} is not an IAM role or user ARN`);
    if (!ROLES.includes(role)) throw new Error(`serverless.yml params.iamPrincipals: ${arn}: ${role} is not one of ${ROLES.join(', ')}`);
  }
  if (mode === 'iam' && Object.keys(principals).length === 0) {
    throw new Error('serverless.yml params: auth iam needs iamPrincipals (nobody could call the API)');
  }
  const kmsKeyArn = auth.apiKeysKmsKeyArn || undefined;
  if (kmsKeyArn !== undefined && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]+$/.test(kmsKeyArn)) {
    throw new Error(`serverless.yml params.apiKeysKmsKeyArn: ${kmsKeyArn} is not a KMS key ARN`);
  }
  return { mode, principals, kmsKeyArn };
}

/** What Lambda accepts as an SQS event source's MaximumConcurrency. */
const MAXIMUM_CONCURRENCY_RANGE = { min: 2, max: 1000 };

/**
 * Checks and normalises the limits of the queue consumers (the status poller), serverless.yml
 * params `pollerMaximumConcurrency` and `pollerReservedConcurrency`, YAML numbers or `--param` strings.
 * - maximumConcurrency: how many batches the SQS event source runs at once (ScalingConfig). It
 *   bounds how much of the account's concurrency an event storm can take, and how fast a backlog
 *   drains (docs/SCALING.md section 5).
 * - reservedConcurrency: that much of the account's concurrency belongs to the poller alone: the
 *   API functions cannot take it and the poller cannot exceed it, whoever invokes it. '' for none
 *   (Lambda refuses a reservation that leaves fewer than 100 unreserved executions, as on a new
 *   account with a low quota). It must cover maximumConcurrency, or Lambda throttles the event
 *   source's invocations (AWS advises against a maximum above the reservation).
 * Either left out (undefined): the setting is not rendered at all.
 */
function checkPollerLimits({ maximumConcurrency, reservedConcurrency } = {}) {
  const integer = (value, param) => {
    if (value === undefined || value === null || value === '') return undefined;
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0) throw new Error(`serverless.yml params.${param}: ${value} is not a whole number`);
    return number;
  };
  const maximum = integer(maximumConcurrency, 'pollerMaximumConcurrency');
  const reserved = integer(reservedConcurrency, 'pollerReservedConcurrency');
  if (maximum !== undefined && (maximum < MAXIMUM_CONCURRENCY_RANGE.min || maximum > MAXIMUM_CONCURRENCY_RANGE.max)) {
    throw new Error(`serverless.yml params.pollerMaximumConcurrency: ${maximum} is outside ${MAXIMUM_CONCURRENCY_RANGE.min}-${MAXIMUM_CONCURRENCY_RANGE.max}`);
  }
  if (reserved !== undefined && (maximum === undefined || maximum > reserved)) {
    throw new Error(
      `serverless.yml params: pollerMaximumConcurrency (${maximum ?? 'unset'}) must not exceed pollerReservedConcurrency (${reserved}): Lambda would throttle the queue's batches`,
    );
  }
  return { maximumConcurrency: maximum, reservedConcurrency: reserved };
}

/** Refuses catalogue entries the generated stack could not honour, before CloudFormation does. */
function checkDefinition(definition, functionName) {
  const where = `infra/functions.cjs: ${definition.name}`;
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) throw new Error(`${where}: name must be kebab-case`);
  if (functionName.length > MAX_FUNCTION_NAME_LENGTH) {
    throw new Error(`${where}: function name ${functionName} exceeds ${MAX_FUNCTION_NAME_LENGTH} characters`);
  }
  const isTable = (key) => resourceOf(key)?.Type === 'AWS::DynamoDB::Table';
  const isQueue = (key) => resourceOf(key)?.Type === 'AWS::SQS::Queue';
  for (const access of definition.access) {
    if (!isTable(access.table)) throw new Error(`${where}: unknown table ${access.table}`);
    if (access.actions.length === 0) throw new Error(`${where}: empty action list for ${access.table}`);
    for (const action of access.actions) {
      // Wildcards would silently widen the grant (dynamodb:* includes DeleteTable).
      if (!/^dynamodb:[A-Za-z]+$/.test(action)) throw new Error(`${where}: ${action} is not a single dynamodb:<Action>`);
    }
    if (access.index !== undefined) {
      if (access.indexes) throw new Error(`${where}: ${access.table}: either indexes (all) or index (one), not both`);
      const indexNames = (resourceOf(access.table).Properties.GlobalSecondaryIndexes ?? []).map((gsi) => gsi.IndexName);
      if (!indexNames.includes(access.index)) throw new Error(`${where}: ${access.table} has no index ${access.index}`);
    }
  }
  // One trigger per function: its role and its alarms are about that one source of invocations.
  const triggers = ['http', 'sqs', 'stream', 'schedule'].filter((trigger) => definition[trigger] !== undefined);
  if (triggers.length !== 1) throw new Error(`${where}: needs exactly one trigger (http, sqs, stream or schedule), has ${triggers.join(', ') || 'none'}`);
  if (definition.sqs && !isQueue(definition.sqs.queue)) throw new Error(`${where}: unknown queue ${definition.sqs.queue}`);
  if (definition.stream) {
    const { tables, onFailure } = definition.stream;
    if (!Array.isArray(tables) || tables.length === 0) throw new Error(`${where}: a stream trigger names its tables`);
    for (const table of tables) {
      if (!isTable(table)) throw new Error(`${where}: unknown table ${table}`);
      if (!resourceOf(table).Properties.StreamSpecification) throw new Error(`${where}: table ${table} has no stream`);
    }
    if (new Set(tables).size !== tables.length) throw new Error(`${where}: a table stream listed twice`);
    if (!isQueue(onFailure)) throw new Error(`${where}: unknown queue ${onFailure}`);
  }
  if (definition.schedule !== undefined && !/^(rate|cron)\(.+\)$/.test(definition.schedule)) {
    throw new Error(`${where}: schedule ${definition.schedule} is not a rate(...) or cron(...) expression`);
  }
  if (definition.publishTo !== undefined && resourceOf(definition.publishTo)?.Type !== 'AWS::Events::EventBus') {
    throw new Error(`${where}: unknown event bus ${definition.publishTo}`);
  }
  if (definition.http) {
    // A route is either public (no key) or names who may call it; never both, never nobody.
    const { roles } = definition.http;
    if (definition.http.public ? roles !== undefined : !Array.isArray(roles) || roles.length === 0) {
      throw new Error(`${where}: an http route is either public or has roles`);
    }
    for (const role of roles ?? []) if (!ROLES.includes(role)) throw new Error(`${where}: ${role} is not one of ${ROLES.join(', ')}`);
  }
}

/**
 * The execution role of one function: its own log group, its own table grants, its own queue,
 * and for keyed routes in api-key mode read access to the one parameter with the key digests.
 */
function executionRole(definition, functionName, { apiKeysParameter, kmsKeyArn }) {
  const logGroupName = `/aws/lambda/${functionName}`;
  const statements = [
    // AWSLambdaBasicExecutionRole, narrowed to this function's log group.
    {
      Sid: 'Logs',
      Effect: 'Allow',
      Action: ['logs:CreateLogGroup', 'logs:CreateLogStream'],
      Resource: [logGroupArn(logGroupName, ':*')],
    },
    {
      Sid: 'LogEvents',
      Effect: 'Allow',
      Action: ['logs:PutLogEvents'],
      Resource: [logGroupArn(logGroupName, ':log-stream:*')],
    },
    ...definition.access.map((access, index) => {
      const logicalId = LOGICAL_IDS[access.table];
      const tableArn = arnOf(logicalId);
      let resources = [tableArn];
      if (access.indexes) resources = [tableArn, indexArnOf(logicalId, '*')];
      if (access.index !== undefined) resources = [indexArnOf(logicalId, access.index)];
      return {
        Sid: `Table${index}${pascalCase(access.table)}`,
        Effect: 'Allow',
        Action: [...access.actions],
        Resource: resources,
      };
    }),
  ];
  if (apiKeysParameter) {
    statements.push({
      Sid: 'ReadApiKeys',
      Effect: 'Allow',
      Action: ['ssm:GetParameter'],
      Resource: [ssmParameterArn(apiKeysParameter)],
    });
    // With the AWS managed key (aws/ssm) SSM decrypts on the caller's behalf; a customer managed
    // key must allow kms:Decrypt, and only through SSM.
    if (kmsKeyArn) {
      statements.push({
        Sid: 'DecryptApiKeys',
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: [kmsKeyArn],
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
      });
    }
  }
  if (definition.sqs) {
    statements.push({
      Sid: 'ConsumeQueue',
      Effect: 'Allow',
      Action: [...SQS_CONSUMER_ACTIONS],
      Resource: [arnOf(LOGICAL_IDS[definition.sqs.queue])],
    });
  }
  // The framework grants its stream and on-failure permissions only to its shared role, which
  // this stack does not have: the function's own role carries them, on exactly its streams and
  // its failure queue. The event source mapping reads the streams, and sends the position of a
  // batch it gives up on to the queue, with the function's role.
  if (definition.stream) {
    statements.push(
      {
        Sid: 'ReadStreams',
        Effect: 'Allow',
        Action: [...STREAM_READER_ACTIONS],
        Resource: definition.stream.tables.map((table) => streamArnOf(LOGICAL_IDS[table])),
      },
      {
        Sid: 'SendFailedBatches',
        Effect: 'Allow',
        Action: ['sqs:SendMessage'],
        Resource: [arnOf(LOGICAL_IDS[definition.stream.onFailure])],
      },
    );
  }
  if (definition.publishTo) {
    statements.push({
      Sid: 'PutEvents',
      Effect: 'Allow',
      Action: ['events:PutEvents'],
      Resource: [arnOf(LOGICAL_IDS[definition.publishTo])],
    });
  }
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: `Execution role of ${functionName}`,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{ PolicyName: 'least-privilege', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
}

function events(definition, authMode, limits) {
  const result = [];
  if (definition.http) {
    // In iam mode API Gateway refuses requests without a valid SigV4 signature before the function runs.
    const signed = authMode === 'iam' && !definition.http.public;
    result.push({ httpApi: { method: definition.http.method, path: definition.http.path, ...(signed ? { authorizer: { type: 'aws_iam' } } : {}) } });
  }
  if (definition.sqs) {
    result.push({
      sqs: {
        arn: arnOf(LOGICAL_IDS[definition.sqs.queue]),
        batchSize: definition.sqs.batchSize,
        maximumBatchingWindow: definition.sqs.maximumBatchingWindow,
        // Only the failed messages of a batch return to the queue (functions/status-poller.ts).
        functionResponseType: 'ReportBatchItemFailures',
        // ScalingConfig.MaximumConcurrency (checkPollerLimits).
        ...(limits.maximumConcurrency !== undefined ? { maximumConcurrency: limits.maximumConcurrency } : {}),
      },
    });
  }
  if (definition.stream) {
    const stream = definition.stream;
    for (const table of stream.tables) {
      result.push({
        stream: {
          type: 'dynamodb',
          arn: streamArnOf(LOGICAL_IDS[table]),
          startingPosition: stream.startingPosition,
          batchSize: stream.batchSize,
          // The framework's name for MaximumBatchingWindowInSeconds on streams.
          batchWindow: stream.maximumBatchingWindow,
          bisectBatchOnFunctionError: stream.bisectBatchOnFunctionError,
          // The handler reports the first record it could not publish; the batch resumes there.
          functionResponseType: 'ReportBatchItemFailures',
          maximumRetryAttempts: stream.maximumRetryAttempts,
          maximumRecordAgeInSeconds: stream.maximumRecordAgeInSeconds,
          parallelizationFactor: stream.parallelizationFactor,
          destinations: { onFailure: { arn: arnOf(LOGICAL_IDS[stream.onFailure]), type: 'sqs' } },
        },
      });
    }
  }
  if (definition.schedule) result.push({ schedule: definition.schedule });
  return result;
}

/**
 * `functions` and `roles` (IAM role resources keyed by logical id) for one stage.
 * @param {{ service: string, stage: string, catalogue?: import('./functions.cjs').FunctionDefinition[],
 *           auth?: { mode?: string, iamPrincipals?: object | string, apiKeysKmsKeyArn?: string },
 *           pollerLimits?: { maximumConcurrency?: number | string, reservedConcurrency?: number | string } }} options
 */
function buildServerlessFunctions({ service, stage, catalogue = FUNCTIONS, auth = {}, pollerLimits = {} }) {
  const { mode, principals, kmsKeyArn } = checkAuth(auth);
  const limits = checkPollerLimits(pollerLimits);
  const tableEnvironment = Object.fromEntries(
    Object.entries(TABLE_ENVIRONMENT).map(([variable, table]) => [variable, { Ref: LOGICAL_IDS[table] }]),
  );
  const functions = {};
  const roles = {};
  for (const definition of catalogue) {
    const functionName = `${service}-${stage}-${definition.name}`;
    checkDefinition(definition, functionName);
    const key = functionKey(definition);
    if (functions[key]) throw new Error(`infra/functions.cjs: duplicate function ${definition.name}`);
    const keyed = Boolean(definition.http && !definition.http.public);
    const apiKeysParameter = keyed && mode === 'api-key' ? apiKeysParameterName(service, stage) : undefined;
    roles[roleLogicalId(definition)] = executionRole(definition, functionName, { apiKeysParameter, kmsKeyArn });
    functions[key] = {
      name: functionName,
      handler: handlerOf(definition),
      description: definition.description,
      ...(definition.timeout ? { timeout: definition.timeout } : {}),
      ...(definition.memorySize ? { memorySize: definition.memorySize } : {}),
      // Queue consumers only: the API functions share the account's unreserved concurrency.
      ...(definition.sqs && limits.reservedConcurrency !== undefined ? { reservedConcurrency: limits.reservedConcurrency } : {}),
      role: roleLogicalId(definition),
      environment: {
        ...tableEnvironment,
        // Authentication only where it is checked: public routes (health) get none of it. No key
        // material ever: the function reads the digests from the SecureString parameter at cold
        // start (lib/auth/keyring.ts), so neither the template nor the Lambda configuration holds them.
        ...(apiKeysParameter ? { API_KEYS_PARAMETER: apiKeysParameter } : {}),
        ...(keyed && mode === 'iam' ? { AUTH_MODE: 'iam', IAM_PRINCIPALS: JSON.stringify(principals) } : {}),
        // Ref of an AWS::Events::EventBus is its name.
        ...(definition.publishTo ? { EVENT_BUS_NAME: { Ref: LOGICAL_IDS[definition.publishTo] } } : {}),
      },
      events: events(definition, mode, limits),
    };
  }
  return { functions, roles };
}

/** Entry point for serverless.yml: `${file(./infra/serverless-functions.cjs):functions}` and `:roles`. */
async function resolveForServerless({ resolveVariable }) {
  const [service, stage, mode, iamPrincipals, apiKeysKmsKeyArn, maximumConcurrency, reservedConcurrency] = await Promise.all([
    resolveVariable('self:service'),
    resolveVariable('sls:stage'),
    resolveVariable('param:auth'),
    resolveVariable('param:iamPrincipals'),
    resolveVariable('param:apiKeysKmsKeyArn'),
    resolveVariable('param:pollerMaximumConcurrency'),
    resolveVariable('param:pollerReservedConcurrency'),
  ]);
  return buildServerlessFunctions({
    service,
    stage,
    auth: { mode, iamPrincipals, apiKeysKmsKeyArn },
    pollerLimits: { maximumConcurrency, reservedConcurrency },
  });
}

module.exports = resolveForServerless;
module.exports.buildServerlessFunctions = buildServerlessFunctions;
module.exports.functionKey = functionKey;
module.exports.roleLogicalId = roleLogicalId;
module.exports.handlerOf = handlerOf;
module.exports.TABLE_ENVIRONMENT = TABLE_ENVIRONMENT;
module.exports.SQS_CONSUMER_ACTIONS = SQS_CONSUMER_ACTIONS;
module.exports.STREAM_READER_ACTIONS = STREAM_READER_ACTIONS;
module.exports.apiKeysParameterName = apiKeysParameterName;
module.exports.AUTH_MODES = AUTH_MODES;
module.exports.checkPollerLimits = checkPollerLimits;
