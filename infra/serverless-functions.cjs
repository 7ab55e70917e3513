// Builds serverless.yml's `functions` and one least-privilege IAM role per function from the
// function catalogue (infra/functions.cjs). serverless.yml resolves it through
// `${file(./infra/serverless-functions.cjs):functions}` and `:roles`; a new catalogue entry is
// deployed, routed and granted its table access without touching the YAML.
//
// Generated values never contain `${...}`: the framework would try to resolve it as one of its own
// variables. ARNs are therefore assembled with Fn::Join instead of Fn::Sub.
'use strict';

const FUNCTIONS = require('./functions.cjs');
const { LOGICAL_IDS } = require('./resources.cjs');

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

/** Refuses catalogue entries the generated stack could not honour, before CloudFormation does. */
function checkDefinition(definition, functionName) {
  const where = `infra/functions.cjs: ${definition.name}`;
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) throw new Error(`${where}: name must be kebab-case`);
  if (functionName.length > MAX_FUNCTION_NAME_LENGTH) {
    throw new Error(`${where}: function name ${functionName} exceeds ${MAX_FUNCTION_NAME_LENGTH} characters`);
  }
  for (const access of definition.access) {
    if (!LOGICAL_IDS[access.table]) throw new Error(`${where}: unknown table ${access.table}`);
    if (access.actions.length === 0) throw new Error(`${where}: empty action list for ${access.table}`);
    for (const action of access.actions) {
      // Wildcards would silently widen the grant (dynamodb:* includes DeleteTable).
      if (!/^dynamodb:[A-Za-z]+$/.test(action)) throw new Error(`${where}: ${action} is not a single dynamodb:<Action>`);
    }
  }
  if (definition.sqs && !LOGICAL_IDS[definition.sqs.queue]) throw new Error(`${where}: unknown queue ${definition.sqs.queue}`);
}

/** The execution role of one function: its own log group, its own table grants, its own queue. */
function executionRole(definition, functionName) {
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
      const tableArn = arnOf(LOGICAL_IDS[access.table]);
      return {
        Sid: `Table${index}${pascalCase(access.table)}`,
        Effect: 'Allow',
        Action: [...access.actions],
        Resource: access.indexes ? [tableArn, { 'Fn::Join': ['', [tableArn, '/index/*']] }] : [tableArn],
      };
    }),
  ];
  if (definition.sqs) {
    statements.push({
      Sid: 'ConsumeQueue',
      Effect: 'Allow',
      Action: [...SQS_CONSUMER_ACTIONS],
      Resource: [arnOf(LOGICAL_IDS[definition.sqs.queue])],
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

function events(definition) {
  const result = [];
  if (definition.http) result.push({ httpApi: { method: definition.http.method, path: definition.http.path } });
  if (definition.sqs) {
    result.push({
      sqs: {
        arn: arnOf(LOGICAL_IDS[definition.sqs.queue]),
        batchSize: definition.sqs.batchSize,
        maximumBatchingWindow: definition.sqs.maximumBatchingWindow,
        // Only the failed messages of a batch return to the queue (functions/status-poller.ts).
        functionResponseType: 'ReportBatchItemFailures',
      },
    });
  }
  return result;
}

/**
 * `functions` and `roles` (IAM role resources keyed by logical id) for one stage.
 * @param {{ service: string, stage: string, catalogue?: import('./functions.cjs').FunctionDefinition[] }} options
 */
function buildServerlessFunctions({ service, stage, catalogue = FUNCTIONS }) {
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
    roles[roleLogicalId(definition)] = executionRole(definition, functionName);
    functions[key] = {
      name: functionName,
      handler: handlerOf(definition),
      description: definition.description,
      ...(definition.timeout ? { timeout: definition.timeout } : {}),
      ...(definition.memorySize ? { memorySize: definition.memorySize } : {}),
      role: roleLogicalId(definition),
      environment: {
        ...tableEnvironment,
        // Keys only where they are checked: public routes (health) never see them. A CloudFormation
        // dynamic reference, resolved at deploy time, so packaging needs neither network nor
        // credentials. It must be a String parameter: Lambda environments cannot take ssm-secure.
        ...(definition.http && !definition.http.public
          ? { API_KEYS: `{{resolve:ssm:/${service}/${stage}/api-keys}}` }
          : {}),
      },
      events: events(definition),
    };
  }
  return { functions, roles };
}

/** Entry point for serverless.yml: `${file(./infra/serverless-functions.cjs):functions}` and `:roles`. */
async function resolveForServerless({ resolveVariable }) {
  const [service, stage] = await Promise.all([resolveVariable('self:service'), resolveVariable('sls:stage')]);
  return buildServerlessFunctions({ service, stage });
}

module.exports = resolveForServerless;
module.exports.buildServerlessFunctions = buildServerlessFunctions;
module.exports.functionKey = functionKey;
module.exports.roleLogicalId = roleLogicalId;
module.exports.handlerOf = handlerOf;
module.exports.TABLE_ENVIRONMENT = TABLE_ENVIRONMENT;
module.exports.SQS_CONSUMER_ACTIONS = SQS_CONSUMER_ACTIONS;
