import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import catalogue, { type FunctionDefinition } from '../../infra/functions.cjs';
import resources from '../../infra/resources.cjs';
import generated from '../../infra/serverless-functions.cjs';
import { checkTemplate, loadCfnSpec } from './cfn-spec';
import { readZip } from './zip';

/**
 * Packages the service exactly as a deploy would (`serverless package`, esbuild bundles included),
 * with no network and no credentials, and checks the CloudFormation template it produced.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVERLESS = join(ROOT, 'node_modules/serverless/bin/serverless.js');
const SERVICE = 'gs-inventory';
const STAGE = 'ci';
/**
 * `timeout` ends a package should serverless-esbuild ever hang on a build error. A hang guard, not a
 * speed target: packaging takes seconds on an idle machine and over two minutes with every core busy.
 */
const PACKAGE_TIMEOUT_SECONDS = 420;
/** Test and hook timeout (ms) for `count` packages one after the other, each up to the guard. */
const packagesTimeout = (count: number) => count * (PACKAGE_TIMEOUT_SECONDS + 15) * 1000;

const { LOGICAL_IDS } = resources;
const TABLE_ACTIONS_FORBIDDEN = ['dynamodb:DeleteTable', 'dynamodb:Scan'];
/** The SecureString parameter with the API key digests, and its ARN as the template renders it. */
const API_KEYS_PARAMETER = `/${SERVICE}/${STAGE}/api-keys`;
const API_KEYS_PARAMETER_ARN = `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${API_KEYS_PARAMETER}`;
/** Item-level DynamoDB actions; everything else (table management, backups, streams, Scan) is granted to nobody. */
const ITEM_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'];
const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];

type Json = any;
interface Resource {
  Type: string;
  Properties: Record<string, Json>;
  DependsOn?: string | string[];
  Condition?: string;
  DeletionPolicy?: string;
}
interface Template {
  Resources: Record<string, Resource>;
  Conditions?: Record<string, Json>;
}

/**
 * The environment of the child processes: ours minus anything that could reach a real AWS account
 * or the Serverless dashboard, a throwaway HOME (no ~/.aws, no ~/.serverlessrc written to ours)
 * and a temp directory of their own.
 */
function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(AWS_|SLS_|SERVERLESS_)/.test(key)) env[key] = value;
  }
  return {
    ...env,
    HOME: join(workDir, 'home'),
    TMPDIR: join(workDir, 'tmp'),
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    ...extra,
  };
}

const toArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** `{ 'Fn::GetAtt': ['T', 'Arn'] }` -> `${T.Arn}`, `{ Ref: 'X' }` -> `${X}`, Fn::Join concatenated. */
function render(value: Json): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (value && typeof value === 'object') {
    if ('Ref' in value) return `\${${value.Ref}}`;
    if ('Fn::GetAtt' in value) return `\${${value['Fn::GetAtt'].join('.')}}`;
    if ('Fn::Join' in value) return value['Fn::Join'][1].map(render).join(value['Fn::Join'][0]);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

const arn = (logicalId: string) => `\${${logicalId}.Arn}`;

interface Grant {
  actions: string[];
  resources: string[];
  statement: Record<string, Json>;
}

let workDir: string;
let template: Template;
let output: string;
let packageDir: string;
/**
 * The same service packaged as a production stage is configured: `auth: iam` (SigV4 at API
 * Gateway), deletion protection, an alarm address, other poller limits and notification
 * subscribers (PROD_LIKE_PARAMS).
 */
let iamTemplate: Template;

/** IAM principals of the IAM-mode package: the IRSA roles of the pods and a reader. */
const IAM_PRINCIPALS = {
  'arn:aws:iam::123456789012:role/eks/lb-pods': 'load-balancer',
  'arn:aws:iam::123456789012:role/matchmaker': 'matchmaker',
  'arn:aws:iam::123456789012:user/dashboard': 'reader',
};

/** The region both packages are built for (serverless.yml's default: no --region). */
const REGION = 'us-east-1';

/** Notification subscribers of the second package: two webhooks and a queue. */
const WEBHOOKS = [
  { name: 'matchmaker', url: 'https://mm.example.com/hooks/gs?team=eu', secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:mm-webhook-AbCdEf' },
  { name: 'ops-dashboard', url: 'https://dash.example.org/events', secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dash/webhook' },
];
const NOTIFY_QUEUES = ['arn:aws:sqs:us-east-1:123456789012:lobby-notifications'];

/** Stage parameters of the second package, as strings the way `--param` passes them. */
const PROD_LIKE_PARAMS = {
  tableDeletionProtection: 'true',
  alarmEmail: 'game-ops@example.com',
  pollerMaximumConcurrency: '20',
  pollerReservedConcurrency: '30',
  notifyWebhooks: JSON.stringify(WEBHOOKS),
  notifyQueues: JSON.stringify(NOTIFY_QUEUES),
};

/** `serverless package` into `directory` with extra CLI arguments; returns its output and template. */
async function packageService(directory: string, extraArgs: string[] = []) {
  const args = ['-k', '10', String(PACKAGE_TIMEOUT_SECONDS), process.execPath, SERVERLESS, 'package', '--stage', STAGE, '--package', directory, ...extraArgs];
  let result: { stdout: string; stderr: string };
  try {
    result = await run('timeout', args, { cwd: ROOT, env: isolatedEnv(), maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    const reason = failure.code === 124 ? `timed out after ${PACKAGE_TIMEOUT_SECONDS} s` : `exited with ${failure.code}`;
    throw new Error(`serverless package ${reason}:\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`);
  }
  return {
    output: `${result.stdout}\n${result.stderr}`,
    template: JSON.parse(await readFile(join(directory, 'cloudformation-template-update-stack.json'), 'utf8')),
  };
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gs-inventory-package-'));
  packageDir = join(workDir, 'package');
  await mkdir(join(workDir, 'home'));
  await mkdir(join(workDir, 'tmp'));
  // One after the other: serverless-esbuild builds in the service's own .esbuild directory.
  ({ output, template } = await packageService(packageDir));
  ({ template: iamTemplate } = await packageService(join(workDir, 'package-iam'), [
    '--param=auth=iam',
    `--param=iamPrincipals=${JSON.stringify(IAM_PRINCIPALS)}`,
    ...Object.entries(PROD_LIKE_PARAMS).map(([name, value]) => `--param=${name}=${value}`),
  ]));
}, packagesTimeout(2));

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const resourcesOfType = (type: string) => Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

function lambdaOf(definition: FunctionDefinition): [string, Resource] {
  const found = resourcesOfType('AWS::Lambda::Function').find(
    ([, resource]) => resource.Properties.FunctionName === `${SERVICE}-${STAGE}-${definition.name}`,
  );
  if (!found) throw new Error(`no Lambda for ${definition.name}`);
  return found;
}

function roleOf(definition: FunctionDefinition): Resource {
  const [, lambda] = lambdaOf(definition);
  const role = template.Resources[lambda.Properties.Role['Fn::GetAtt'][0]];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${definition.name}: Role does not point at an IAM role of the stack`);
  return role;
}

function grantsOf(role: Resource): Grant[] {
  return toArray(role.Properties.Policies)
    .flatMap((policy: Json) => toArray(policy.PolicyDocument.Statement))
    .map((statement: Json) => ({
      actions: toArray<string>(statement.Action),
      resources: toArray(statement.Resource).map(render),
      statement,
    }));
}

const sorted = (values: Iterable<string>) => [...values].sort();

describe('serverless package', () => {
  it('conforms to the CloudFormation resource specification', async () => {
    const spec = await loadCfnSpec();
    expect(checkTemplate(spec, template)).toEqual([]);
  });

  it('reports no configuration problem but the nodejs22.x runtime, which serverless 3.40 predates', () => {
    const flagged = [...output.matchAll(/^\s*at '([^']+)'/gm)].map((match) => match[1]);
    expect(flagged.filter((path) => path !== 'provider.runtime')).toEqual([]);
  });

  it('leaves no zip staging copies behind in the temp directory', async () => {
    // serverless-esbuild leaks them; infra/serverless-zip-staging-cleanup.cjs removes them.
    expect(await readdir(join(workDir, 'tmp'))).toEqual([]);
  });

  it('takes the tables, queues, alarms and conditions verbatim from infra/resources.cjs, stage parameters included', () => {
    const cases = [
      [template, resources.buildResources(STAGE)],
      [
        iamTemplate,
        resources.buildResources(STAGE, {
          deletionProtection: true,
          alarmEmail: PROD_LIKE_PARAMS.alarmEmail,
          notifyWebhooks: WEBHOOKS,
          notifyQueues: NOTIFY_QUEUES,
          region: REGION,
        }),
      ],
    ] as const;
    for (const [packaged, built] of cases) {
      for (const [logicalId, resource] of Object.entries(built.resources)) {
        expect(packaged.Resources[logicalId], logicalId).toEqual(resource);
      }
      expect(packaged.Conditions).toEqual(built.conditions);
    }
  });

  it('deploys the three tables with their keys, indexes, on-demand billing and TTL', () => {
    const table = (logicalId: string) => template.Resources[logicalId]!.Properties;
    const keys = (hash: string, range?: string) => [
      { AttributeName: hash, KeyType: 'HASH' },
      ...(range ? [{ AttributeName: range, KeyType: 'RANGE' }] : []),
    ];
    const indexes = (properties: Json) =>
      Object.fromEntries((properties.GlobalSecondaryIndexes ?? []).map((gsi: Json) => [gsi.IndexName, gsi.KeySchema]));

    const gameServers = table(LOGICAL_IDS.gameServerTable);
    const loadBalancers = table(LOGICAL_IDS.loadBalancerTable);
    const claims = table(LOGICAL_IDS.claimTable);
    expect([gameServers.TableName, loadBalancers.TableName, claims.TableName]).toEqual([
      'game-server-status-by-endpoint-ci',
      'lb-status-by-endpoint-ci',
      'game-server-claims-ci',
    ]);
    expect(gameServers.KeySchema).toEqual(keys('endpoint'));
    expect(indexes(gameServers)).toEqual({
      'available-all': keys('availAll', 'availableAt'),
      'available-by-region': keys('availRegion', 'availableAt'),
      'available-by-group': keys('availGroup', 'availableAt'),
      'by-node': keys('node', 'endpoint'),
      'stale-watch': keys('watch', 'freshUntil'),
    });
    expect(loadBalancers.KeySchema).toEqual(keys('endpoint'));
    expect(indexes(loadBalancers)).toEqual({
      'by-fleet': keys('fleet', 'lastHeartbeatAt'),
      'by-region': keys('region', 'lastHeartbeatAt'),
    });
    expect(claims.KeySchema).toEqual(keys('claimId'));
    expect(indexes(claims)).toEqual({});
    for (const properties of [gameServers, loadBalancers, claims]) {
      expect(properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    }
  });

  it('streams the game-server and load-balancer tables with both images, and no other table', () => {
    const streamed = Object.fromEntries(TABLE_IDS.map((tableId) => [tableId, template.Resources[tableId]!.Properties.StreamSpecification]));
    expect(streamed).toEqual({
      ...Object.fromEntries(TABLE_IDS.map((tableId) => [tableId, undefined])),
      [LOGICAL_IDS.gameServerTable]: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      [LOGICAL_IDS.loadBalancerTable]: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  it('moves status events to the dead-letter queue after 5 receives, and alarms on that queue', () => {
    const queue = template.Resources[LOGICAL_IDS.statusQueue]!;
    expect(queue.Type).toBe('AWS::SQS::Queue');
    expect(queue.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [LOGICAL_IDS.statusDeadLetterQueue, 'Arn'] },
      maxReceiveCount: 5,
    });
    const alarm = template.Resources[LOGICAL_IDS.deadLetterAlarm]!;
    expect(alarm.Type).toBe('AWS::CloudWatch::Alarm');
    expect(alarm.Properties.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [LOGICAL_IDS.statusDeadLetterQueue, 'QueueName'] } },
    ]);
  });

  it('triggers the status poller from the status queue with partial batch responses', () => {
    const pollers = catalogue.filter((definition) => definition.sqs);
    expect(pollers.map((definition) => definition.name)).toContain('status-poller');
    const mappings = resourcesOfType('AWS::Lambda::EventSourceMapping')
      .map(([, mapping]) => mapping.Properties)
      .filter((properties) => properties.EventSourceArn['Fn::GetAtt']?.[1] === 'Arn');
    expect(mappings).toHaveLength(pollers.length);
    for (const definition of pollers) {
      const [lambdaId, lambda] = lambdaOf(definition);
      const mapping = mappings.find((properties) => render(properties.FunctionName) === arn(lambdaId));
      expect(mapping, definition.name).toMatchObject({
        EventSourceArn: { 'Fn::GetAtt': [LOGICAL_IDS[definition.sqs!.queue], 'Arn'] },
        BatchSize: definition.sqs!.batchSize,
        MaximumBatchingWindowInSeconds: definition.sqs!.maximumBatchingWindow,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        Enabled: true,
      });
      expect(mapping!.MaximumBatchingWindowInSeconds).toBeGreaterThan(0);
      // Lambda refuses a queue whose visibility timeout is below the function timeout; AWS
      // recommends six times it, so that retries of a slow batch do not overlap.
      const queue = template.Resources[LOGICAL_IDS[definition.sqs!.queue]]!;
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * lambda.Properties.Timeout);
    }
    const poller = mappings.find((properties) => render(properties.FunctionName) === arn(lambdaOf(pollers[0]!)[0]));
    expect(poller).toMatchObject({ BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  });

  it('routes every http catalogue entry, and nothing else, to its own function', () => {
    const routes = new Map(
      resourcesOfType('AWS::ApiGatewayV2::Route').map(([, route]) => {
        const integrationId = render(route.Properties.Target).replace(/^integrations\/\$\{(.+)\}$/, '$1');
        const integration = template.Resources[integrationId]!.Properties;
        expect(integration.PayloadFormatVersion).toBe('2.0');
        return [route.Properties.RouteKey as string, render(integration.IntegrationUri)];
      }),
    );
    const expected = catalogue
      .filter((definition) => definition.http)
      .map((definition) => [`${definition.http!.method} ${definition.http!.path}`, arn(lambdaOf(definition)[0])]);
    expect(Object.fromEntries(routes)).toEqual(Object.fromEntries(expected));
  });

  it('throttles the HTTP API at 500 requests/s with bursts of 1000', () => {
    const [[, stage] = []] = resourcesOfType('AWS::ApiGatewayV2::Stage');
    expect(stage?.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 });
  });

  it('creates exactly one IAM role per catalogue function and no shared one', () => {
    const roleIds = resourcesOfType('AWS::IAM::Role').map(([logicalId]) => logicalId);
    const used = catalogue.map((definition) => lambdaOf(definition)[1].Properties.Role['Fn::GetAtt'][0]);
    expect(sorted(roleIds)).toEqual(sorted(new Set(used)));
    expect(used).toHaveLength(catalogue.length);
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('grants no wildcard action or resource, no NotAction/NotResource, no dynamodb:Scan or DeleteTable', () => {
    for (const [logicalId, role] of resourcesOfType('AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns, logicalId).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
      for (const grant of grantsOf(role)) {
        expect(grant.statement.Effect, logicalId).toBe('Allow');
        expect(Object.keys(grant.statement).filter((key) => key.startsWith('Not')), logicalId).toEqual([]);
        for (const action of grant.actions) expect(action, logicalId).not.toContain('*');
        for (const resource of grant.resources) expect(resource, logicalId).not.toBe('*');
        expect(grant.actions.filter((action) => TABLE_ACTIONS_FORBIDDEN.includes(action)), logicalId).toEqual([]);
      }
    }
  });

  it('bundles each function as one ESM file (and its source map) that loads and answers', async () => {
    const bundles: Record<string, string> = {};
    for (const definition of catalogue) {
      const [, lambda] = lambdaOf(definition);
      const base = definition.file.replace(/\.ts$/, '');
      expect(lambda.Properties.Handler).toBe(`${base}.handler`);
      const zip = readZip(await readFile(join(packageDir, basename(lambda.Properties.Code.S3Key))));
      expect(sorted(zip.keys()), definition.name).toEqual([`${base}.mjs`, `${base}.mjs.map`]);
      const target = join(workDir, 'bundles', definition.name);
      for (const [name, content] of zip) {
        await mkdir(dirname(join(target, name)), { recursive: true });
        await writeFile(join(target, name), content);
      }
      bundles[definition.name] = join(target, `${base}.mjs`);
    }

    // A cold start of every bundle in plain Node (not through vitest's transforms), then one
    // request to the health route: proves the ESM output, the require() banner and the handler export.
    const script = `
      const bundles = JSON.parse(process.argv[1]);
      const exported = {};
      for (const [name, file] of Object.entries(bundles)) exported[name] = typeof (await import(file)).handler;
      const { handler } = await import(bundles.health);
      const event = { version: '2.0', routeKey: 'GET /health', rawPath: '/health', headers: {}, requestContext: { requestId: 'smoke', http: { method: 'GET', path: '/health' } }, isBase64Encoded: false };
      const context = { awsRequestId: 'smoke', functionName: 'health', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:health', memoryLimitInMB: '512', getRemainingTimeInMillis: () => 5000 };
      const response = await handler(event, context);
      process.stdout.write(JSON.stringify({ exported, response }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(bundles)], {
      cwd: workDir,
      env: isolatedEnv({
        STAGE,
        AWS_REGION: 'us-east-1',
        // As the stack sets it on the notifier, which refuses to start without its bus.
        EVENT_BUS_NAME: `gs-inventory-${STAGE}`,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      }),
    });
    const { exported, response } = JSON.parse(stdout);
    expect(exported).toEqual(Object.fromEntries(catalogue.map((definition) => [definition.name, 'function'])));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: 'ok' });
  });
});

/** `AWS/Lambda Errors FunctionName=${StatusPollerLambdaFunction}`: what a metric of an alarm reads. */
function metricTarget(metric: { Namespace: string; MetricName: string; Dimensions?: Json[] }): string {
  const dimensions = (metric.Dimensions ?? []).map((dimension: Json) => `${dimension.Name}=${render(dimension.Value)}`).join(',');
  return `${metric.Namespace} ${metric.MetricName} ${dimensions}`;
}

/** Evaluates a condition of a template the way CloudFormation would (the functions we use). */
function evaluateCondition(cfn: Template, value: Json): Json {
  if (typeof value !== 'object' || value === null) return value;
  if ('Fn::Not' in value) return !evaluateCondition(cfn, value['Fn::Not'][0]);
  if ('Fn::Equals' in value) {
    const [left, right] = value['Fn::Equals'].map((operand: Json) => evaluateCondition(cfn, operand));
    return left === right;
  }
  if ('Condition' in value) return evaluateCondition(cfn, cfn.Conditions?.[value.Condition]);
  throw new Error(`cannot evaluate ${JSON.stringify(value)}`);
}

const singleOfType = (cfn: Template, type: string): string => {
  const found = Object.entries(cfn.Resources).filter(([, resource]) => resource.Type === type);
  expect(found.map(([logicalId]) => logicalId), type).toHaveLength(1);
  return found[0]![0];
};

const TABLE_IDS = Object.entries(resources.buildResources(STAGE).resources)
  .filter(([, resource]) => resource.Type === 'AWS::DynamoDB::Table')
  .map(([logicalId]) => logicalId);

/** The throttle alarms of a table of the packaged template (one per five of the table and its indexes). */
const throttleAlarmIdsOf = (tableId: string) =>
  resources.tableThrottleAlarmIds(tableId, (template.Resources[tableId]!.Properties.GlobalSecondaryIndexes ?? []).length);

describe('alarms (infra/resources.cjs)', () => {
  const alarm = (logicalId: string) => {
    const resource = template.Resources[logicalId];
    expect(resource?.Type, logicalId).toBe('AWS::CloudWatch::Alarm');
    return resource!.Properties;
  };
  const poller = () => lambdaOf(catalogue.find((definition) => definition.name === 'status-poller')!)[0];

  it('notifies the alarm topic of every alarm on ALARM and on OK, and takes missing data for no trouble', () => {
    expect(template.Resources[LOGICAL_IDS.alarmTopic]!.Type).toBe('AWS::SNS::Topic');
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm');
    expect(sorted(alarms.map(([logicalId]) => logicalId))).toEqual(
      sorted([
        LOGICAL_IDS.deadLetterAlarm,
        LOGICAL_IDS.pollerErrorsAlarm,
        LOGICAL_IDS.pollerThrottlesAlarm,
        LOGICAL_IDS.statusQueueAgeAlarm,
        LOGICAL_IDS.api5xxAlarm,
        LOGICAL_IDS.notifierFailureAlarm,
        LOGICAL_IDS.notifierErrorsAlarm,
        LOGICAL_IDS.notifierIteratorAgeAlarm,
        ...TABLE_IDS.flatMap(throttleAlarmIdsOf),
      ]),
    );
    for (const [logicalId, { Properties: properties }] of alarms) {
      expect(properties.AlarmActions, logicalId).toEqual([{ Ref: LOGICAL_IDS.alarmTopic }]);
      expect(properties.OKActions, logicalId).toEqual([{ Ref: LOGICAL_IDS.alarmTopic }]);
      expect(properties.TreatMissingData, logicalId).toBe('notBreaching');
    }
  });

  it.each([
    ['errors', 'Errors', LOGICAL_IDS.pollerErrorsAlarm, { Statistic: 'Sum', Period: 300, Threshold: 3, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }],
    ['throttles', 'Throttles', LOGICAL_IDS.pollerThrottlesAlarm, { Statistic: 'Sum', Period: 60, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' }],
  ] as const)('alarms on status poller %s (AWS/Lambda %s of the poller function)', (_name, metricName, logicalId, evaluation) => {
    const properties = alarm(logicalId);
    expect(metricTarget(properties as never)).toBe(`AWS/Lambda ${metricName} FunctionName=\${${poller()}}`);
    expect(properties).toMatchObject({ ...evaluation, EvaluationPeriods: 1 });
  });

  it('alarms on the age of the oldest status event, above what a message on its way to the dead-letter queue reaches', () => {
    const properties = alarm(LOGICAL_IDS.statusQueueAgeAlarm);
    expect(metricTarget(properties as never)).toBe(`AWS/SQS ApproximateAgeOfOldestMessage QueueName=\${${LOGICAL_IDS.statusQueue}.QueueName}`);
    expect(properties).toMatchObject({ Statistic: 'Maximum', Period: 60, ComparisonOperator: 'GreaterThanThreshold' });
    const queue = template.Resources[LOGICAL_IDS.statusQueue]!.Properties;
    expect(properties.Threshold).toBeGreaterThan(queue.RedrivePolicy.maxReceiveCount * queue.VisibilityTimeout);
    expect(properties.Threshold).toBe(resources.ALARM_THRESHOLDS.statusQueueMaxAgeSeconds);
  });

  it('alarms on the share of 5xx among the HTTP API stage requests (metric math over 5xx / Count)', () => {
    const properties = alarm(LOGICAL_IDS.api5xxAlarm);
    const apiId = singleOfType(template, 'AWS::ApiGatewayV2::Api');
    const stageId = singleOfType(template, 'AWS::ApiGatewayV2::Stage');
    // Ref of the stage is its name: the $default stage serverless creates.
    expect(template.Resources[stageId]!.Properties.StageName).toBe('$default');
    const metrics: Json[] = properties.Metrics;
    const read = metrics.filter((metric) => metric.MetricStat);
    const byMetric = Object.fromEntries(read.map((metric) => [metric.MetricStat.Metric.MetricName, metric]));
    expect(sorted(read.map((metric) => metricTarget(metric.MetricStat.Metric)))).toEqual(
      sorted(['5xx', 'Count'].map((name) => `AWS/ApiGateway ${name} ApiId=\${${apiId}},Stage=\${${stageId}}`)),
    );
    for (const metric of read) expect(metric).toMatchObject({ ReturnData: false, MetricStat: { Stat: 'Sum', Period: 60 } });
    const results = metrics.filter((metric) => metric.ReturnData !== false);
    expect(results).toHaveLength(1);
    // A percentage: 100 x 5xx / Count, for minutes with enough requests to mean something.
    const [errors, requests] = [byMetric['5xx'].Id, byMetric.Count.Id];
    expect(results[0].Expression).toMatch(new RegExp(`100 \\* FILL\\(${errors}, 0\\) / ${requests}\\b`));
    expect(results[0].Expression).toContain(`${requests} >= ${resources.ALARM_THRESHOLDS.api5xxMinRequestsPerMinute}`);
    expect(properties).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 5, DatapointsToAlarm: 3 });
  });

  it.each(TABLE_IDS)('%s: alarms on read and write throttle events of the table and of each of its indexes', (tableId) => {
    const table = template.Resources[tableId]!.Properties;
    const alarmIds = throttleAlarmIdsOf(tableId);
    const targets = [`TableName=\${${tableId}}`, ...(table.GlobalSecondaryIndexes ?? []).map((gsi: Json) => `TableName=\${${tableId}},GlobalSecondaryIndexName=${gsi.IndexName}`)];
    const watched: string[] = [];
    for (const alarmId of alarmIds) {
      const properties = alarm(alarmId);
      const metrics: Json[] = properties.Metrics;
      const read = metrics.filter((metric) => metric.MetricStat);
      watched.push(...read.map((metric) => metricTarget(metric.MetricStat.Metric)));
      // CloudWatch's hard limit on the metrics of one alarm.
      expect(read.length, alarmId).toBeLessThanOrEqual(10);
      const results = metrics.filter((metric) => metric.ReturnData !== false);
      expect(results).toHaveLength(1);
      const summed = /^SUM\(FILL\(\[(.*)\], 0\)\)$/.exec(results[0].Expression)?.[1]?.split(', ');
      expect(sorted(summed ?? [])).toEqual(sorted(read.map((metric) => metric.Id)));
      expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 5, DatapointsToAlarm: 3 });
    }
    // Every table and index exactly once, reads and writes, over as few alarms as the limit allows.
    expect(sorted(watched)).toEqual(
      sorted(targets.flatMap((target) => [`AWS/DynamoDB ReadThrottleEvents ${target}`, `AWS/DynamoDB WriteThrottleEvents ${target}`])),
    );
    expect(alarmIds).toHaveLength(Math.ceil(targets.length / 5));
  });

  it('alarms on notifier errors, and on the notifier falling a minute behind the streams (IteratorAge, in ms)', () => {
    const [notifierId] = lambdaOf(catalogue.find((definition) => definition.name === 'notifier')!);
    const errors = alarm(LOGICAL_IDS.notifierErrorsAlarm);
    expect(metricTarget(errors as never)).toBe(`AWS/Lambda Errors FunctionName=\${${notifierId}}`);
    expect(errors).toMatchObject({ Statistic: 'Sum', Period: 300, Threshold: 3, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1 });
    const age = alarm(LOGICAL_IDS.notifierIteratorAgeAlarm);
    expect(metricTarget(age as never)).toBe(`AWS/Lambda IteratorAge FunctionName=\${${notifierId}}`);
    expect(age).toMatchObject({ Statistic: 'Maximum', Period: 300, Threshold: 60_000, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1 });
    expect(age.Threshold).toBe(resources.ALARM_THRESHOLDS.notifierIteratorAgeSeconds * 1000);
  });

  it('alarms on any message in the notifier\'s failure queue', () => {
    const properties = alarm(LOGICAL_IDS.notifierFailureAlarm);
    expect(metricTarget(properties as never)).toBe(`AWS/SQS ApproximateNumberOfMessagesVisible QueueName=\${${LOGICAL_IDS.notifierFailureQueue}.QueueName}`);
    expect(properties).toMatchObject({ Statistic: 'Maximum', Period: 60, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('gives metric-math alarms none of the single-metric settings, which CloudWatch refuses next to Metrics', () => {
    const mathAlarms = resourcesOfType('AWS::CloudWatch::Alarm').filter(([, resource]) => resource.Properties.Metrics);
    expect(mathAlarms.map(([logicalId]) => logicalId)).toContain(LOGICAL_IDS.api5xxAlarm);
    for (const [logicalId, { Properties: properties }] of mathAlarms) {
      const single = ['Namespace', 'MetricName', 'Dimensions', 'Period', 'Statistic', 'ExtendedStatistic', 'Unit'].filter((key) => key in properties);
      expect(single, logicalId).toEqual([]);
      for (const metric of properties.Metrics as Json[]) expect(metric.Id, logicalId).toMatch(/^[a-z][A-Za-z0-9_]*$/);
    }
  });

  it('subscribes params.alarmEmail to the alarm topic, and no one where it is empty (condition HasAlarmEmail)', () => {
    for (const cfn of [template, iamTemplate]) {
      for (const [logicalId, resource] of Object.entries(cfn.Resources)) {
        if (resource.Condition) expect(cfn.Conditions?.[resource.Condition], `${logicalId}: condition ${resource.Condition}`).toBeDefined();
      }
    }
    const subscriptions = (cfn: Template) =>
      Object.values(cfn.Resources)
        .filter((resource) => resource.Type === 'AWS::SNS::Subscription')
        .filter((resource) => !resource.Condition || evaluateCondition(cfn, { Condition: resource.Condition }) === true)
        .map((resource) => resource.Properties);
    expect(subscriptions(template)).toEqual([]);
    expect(subscriptions(iamTemplate)).toEqual([
      { TopicArn: { Ref: LOGICAL_IDS.alarmTopic }, Protocol: 'email', Endpoint: PROD_LIKE_PARAMS.alarmEmail },
    ]);
  });
});

describe('notifications: streams -> notifier -> event bus -> subscribers', () => {
  const definitionOf = (name: string) => catalogue.find((definition) => definition.name === name)!;
  const notifier = definitionOf('notifier');
  const staleSweep = definitionOf('stale-sweep');
  const ofType = (cfn: Template, type: string) => Object.entries(cfn.Resources).filter(([, resource]) => resource.Type === type);
  const undeliveredQueue = { MessageRetentionPeriod: 14 * 86_400, SqsManagedSseEnabled: true };

  it('triggers the notifier from both table streams: from now on, in order per shard, partial batch responses, failures to the failure queue', () => {
    const [notifierId] = lambdaOf(notifier);
    const mappings = resourcesOfType('AWS::Lambda::EventSourceMapping').filter(([, mapping]) => mapping.Properties.EventSourceArn['Fn::GetAtt']?.[1] === 'StreamArn');
    expect(sorted(mappings.map(([, mapping]) => mapping.Properties.EventSourceArn['Fn::GetAtt'][0]))).toEqual(
      sorted([LOGICAL_IDS.gameServerTable, LOGICAL_IDS.loadBalancerTable]),
    );
    for (const [logicalId, mapping] of mappings) {
      expect(render(mapping.Properties.FunctionName), logicalId).toBe(arn(notifierId));
      expect({ ...mapping.Properties, EventSourceArn: undefined, FunctionName: undefined }, logicalId).toEqual({
        EventSourceArn: undefined,
        FunctionName: undefined,
        Enabled: true,
        StartingPosition: 'LATEST',
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 1,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 86400,
        ParallelizationFactor: 1,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [LOGICAL_IDS.notifierFailureQueue, 'Arn'] } } },
      });
      // Created after the role that lets it read the stream (Lambda checks it at creation).
      expect(toArray(mapping.DependsOn), logicalId).toContain(lambdaOf(notifier)[1].Properties.Role['Fn::GetAtt'][0]);
    }
    // A record older than the stream keeps it (24 h) cannot be read anyway.
    expect(notifier.stream!.maximumRecordAgeInSeconds).toBeLessThanOrEqual(86400);
  });

  it('keeps what the notifier gave up on 14 days, encrypted, in notifier-failures-<stage>', () => {
    expect(template.Resources[LOGICAL_IDS.notifierFailureQueue]).toEqual({
      Type: 'AWS::SQS::Queue',
      Properties: { QueueName: `notifier-failures-${STAGE}`, ...undeliveredQueue },
    });
  });

  it('creates the bus gs-inventory-<stage> and hands its name to the notifier only', () => {
    expect(singleOfType(template, 'AWS::Events::EventBus')).toBe(LOGICAL_IDS.eventBus);
    expect(template.Resources[LOGICAL_IDS.eventBus]!.Properties.Name).toBe(`gs-inventory-${STAGE}`);
    expect(resources.EVENT_SOURCE).toBe('gs-inventory');
    for (const definition of catalogue) {
      const variables = lambdaOf(definition)[1].Properties.Environment.Variables;
      expect(variables.EVENT_BUS_NAME, definition.name).toEqual(definition === notifier ? { Ref: LOGICAL_IDS.eventBus } : undefined);
    }
  });

  it('runs the stale sweep every minute from a schedule rule on the default bus, allowed to invoke it', () => {
    const [sweepId] = lambdaOf(staleSweep);
    const schedules = ofType(template, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties.ScheduleExpression);
    expect(schedules).toHaveLength(1);
    const [[, rule]] = schedules as [[string, Resource]];
    expect(rule.Properties).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(toArray(rule.Properties.Targets).map((target: Json) => render(target.Arn))).toEqual([arn(sweepId)]);
    const permissions = ofType(template, 'AWS::Lambda::Permission').filter(([, permission]) => render(permission.Properties.FunctionName) === arn(sweepId));
    expect(permissions.map(([, permission]) => permission.Properties.Principal)).toEqual(['events.amazonaws.com']);
  });

  it('has no subscriber by default: no connection, API destination, subscriber rule or invoke role', () => {
    for (const type of ['AWS::Events::Connection', 'AWS::Events::ApiDestination', 'AWS::SQS::QueuePolicy']) expect(ofType(template, type), type).toEqual([]);
    expect(ofType(template, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties.EventBusName)).toEqual([]);
  });

  describe('with params notifyWebhooks and notifyQueues (the second package)', () => {
    const subscribers = [
      ...WEBHOOKS.map((webhook) => ({ kind: 'webhook' as const, name: webhook.name })),
      { kind: 'queue' as const, name: 'lobby-notifications' },
    ];
    const idsOf = resources.notifySubscriberIds;
    const props = (logicalId: string) => {
      expect(iamTemplate.Resources[logicalId], logicalId).toBeDefined();
      return iamTemplate.Resources[logicalId]!.Properties;
    };
    const delivery = {
      InputPath: '$.detail',
      RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
    };

    it('creates one connection, API destination, invoke role and rule per webhook, and one rule per queue', () => {
      const count = (type: string) => ofType(iamTemplate, type).length;
      expect(count('AWS::Events::Connection')).toBe(WEBHOOKS.length);
      expect(count('AWS::Events::ApiDestination')).toBe(WEBHOOKS.length);
      expect(ofType(iamTemplate, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties.EventBusName)).toHaveLength(subscribers.length);
      expect(count('AWS::SQS::QueuePolicy')).toBe(subscribers.length);
      expect(count('AWS::IAM::Role')).toBe(catalogue.length + WEBHOOKS.length);
    });

    it.each(WEBHOOKS.map((webhook) => [webhook.name, webhook] as const))('webhook %s: POSTs the CloudEvent with the secret header, by a connection whose secret stays in Secrets Manager', (_name, webhook) => {
      const ids = idsOf({ kind: 'webhook', name: webhook.name });
      expect(props(ids.connection)).toMatchObject({
        AuthorizationType: 'API_KEY',
        AuthParameters: {
          ApiKeyAuthParameters: { ApiKeyName: 'webhook-secret', ApiKeyValue: `{{resolve:secretsmanager:${webhook.secretArn}:SecretString}}` },
        },
      });
      expect(props(ids.destination)).toMatchObject({
        ConnectionArn: { 'Fn::GetAtt': [ids.connection, 'Arn'] },
        HttpMethod: 'POST',
        InvocationEndpoint: webhook.url,
        InvocationRateLimitPerSecond: 50,
      });
      const rule = props(ids.rule);
      expect(rule).toMatchObject({ EventBusName: { Ref: LOGICAL_IDS.eventBus }, EventPattern: { source: ['gs-inventory'] }, State: 'ENABLED' });
      expect(rule.Targets).toEqual([
        {
          Id: 'webhook',
          Arn: { 'Fn::GetAtt': [ids.destination, 'Arn'] },
          RoleArn: { 'Fn::GetAtt': [ids.role, 'Arn'] },
          HttpParameters: { HeaderParameters: { 'content-type': 'application/cloudevents+json' } },
          ...delivery,
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [ids.deadLetterQueue, 'Arn'] } },
        },
      ]);
    });

    it.each(WEBHOOKS.map((webhook) => [webhook.name, webhook] as const))('webhook %s: EventBridge may invoke that API destination and nothing else', (_name, webhook) => {
      const ids = idsOf({ kind: 'webhook', name: webhook.name });
      const role = iamTemplate.Resources[ids.role]!;
      expect(role.Type).toBe('AWS::IAM::Role');
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ]);
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(grantsOf(role).map(({ actions, statement }) => ({ actions, resource: statement.Resource, effect: statement.Effect }))).toEqual([
        { actions: ['events:InvokeApiDestination'], resource: [{ 'Fn::GetAtt': [ids.destination, 'ArnForPolicy'] }], effect: 'Allow' },
      ]);
    });

    it('queue lobby-notifications: the rule sends the CloudEvent to the queue itself, with no role (the queue\'s policy allows the rule)', () => {
      const ids = idsOf({ kind: 'queue', name: 'lobby-notifications' });
      expect(props(ids.rule)).toMatchObject({ EventBusName: { Ref: LOGICAL_IDS.eventBus }, EventPattern: { source: ['gs-inventory'] } });
      expect(props(ids.rule).Targets).toEqual([
        { Id: 'queue', Arn: NOTIFY_QUEUES[0], ...delivery, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [ids.deadLetterQueue, 'Arn'] } } },
      ]);
      // The stack writes no policy on the subscriber's queue (it would replace the owner's).
      const policyTargets = ofType(iamTemplate, 'AWS::SQS::QueuePolicy').flatMap(([, policy]) => policy.Properties.Queues);
      expect(JSON.stringify(policyTargets)).not.toContain(NOTIFY_QUEUES[0]);
    });

    it.each(subscribers.map((subscriber) => [`${subscriber.kind} ${subscriber.name}`, subscriber] as const))('%s: a dead-letter queue only its rule may send to, alarmed on any message', (_name, subscriber) => {
      const ids = idsOf(subscriber);
      expect(iamTemplate.Resources[ids.deadLetterQueue]).toEqual({ Type: 'AWS::SQS::Queue', Properties: undeliveredQueue });
      expect(props(ids.deadLetterQueuePolicy)).toEqual({
        Queues: [{ Ref: ids.deadLetterQueue }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'UndeliveredNotifications',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: { 'Fn::GetAtt': [ids.deadLetterQueue, 'Arn'] },
              Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ids.rule, 'Arn'] } } },
            },
          ],
        },
      });
      const alarm = props(ids.deadLetterAlarm);
      expect(metricTarget(alarm as never)).toBe(`AWS/SQS ApproximateNumberOfMessagesVisible QueueName=\${${ids.deadLetterQueue}.QueueName}`);
      expect(alarm).toMatchObject({ Statistic: 'Maximum', Period: 60, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [{ Ref: LOGICAL_IDS.alarmTopic }] });
    });

    it('holds each webhook secret only as a Secrets Manager reference in its connection', () => {
      const references = [...JSON.stringify(iamTemplate).matchAll(/\{\{resolve:[^}]*\}\}/g)].map(([reference]) => reference);
      expect(sorted(references)).toEqual(sorted(WEBHOOKS.map((webhook) => `{{resolve:secretsmanager:${webhook.secretArn}:SecretString}}`)));
      for (const [, lambda] of ofType(iamTemplate, 'AWS::Lambda::Function')) {
        expect(JSON.stringify(lambda.Properties.Environment ?? {})).not.toMatch(/secretsmanager|webhook/i);
      }
    });

    it('refuses malformed subscribers before anything is built, naming the parameter and the entry', async () => {
      const attempt = packageService(join(workDir, 'package-bad-webhook'), [
        `--param=notifyWebhooks=${JSON.stringify([{ ...WEBHOOKS[0], url: 'http://mm.example.com/hooks/gs' }])}`,
      ]);
      await expect(attempt).rejects.toThrow(/params\.notifyWebhooks matchmaker: url http:\/\/mm\.example\.com\/hooks\/gs is not https/);
    }, packagesTimeout(1));
  });
});

describe('limits, deletion protection and access logs', () => {
  const pollerIn = (cfn: Template) =>
    Object.entries(cfn.Resources).find(
      ([, resource]) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.FunctionName === `${SERVICE}-${STAGE}-status-poller`,
    )!;
  const mappingOf = (cfn: Template, lambdaId: string) =>
    Object.values(cfn.Resources).find(
      (resource) => resource.Type === 'AWS::Lambda::EventSourceMapping' && render(resource.Properties.FunctionName) === arn(lambdaId),
    )!.Properties;

  it.each([
    ['defaults (50 batches, 50 reserved)', () => template, 50, 50],
    ['--param values', () => iamTemplate, 20, 30],
  ] as const)('caps the poller\'s event source and reserves its concurrency, and no API function\'s: %s', (_name, cfn, maximum, reserved) => {
    const [pollerId, lambda] = pollerIn(cfn());
    expect(mappingOf(cfn(), pollerId).ScalingConfig).toEqual({ MaximumConcurrency: maximum });
    expect(lambda.Properties.ReservedConcurrentExecutions).toBe(reserved);
    // The event source never runs more batches than the poller may run: no throttles.
    expect(maximum).toBeLessThanOrEqual(reserved);
    const reservations = Object.entries(cfn().Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.ReservedConcurrentExecutions !== undefined)
      .map(([logicalId]) => logicalId);
    expect(reservations).toEqual([pollerId]);
  });

  it('turns DynamoDB deletion protection on with params.tableDeletionProtection, and off by default', () => {
    for (const [cfn, expected] of [[template, false], [iamTemplate, true]] as const) {
      for (const tableId of TABLE_IDS) {
        expect(cfn.Resources[tableId]!.Properties.DeletionProtectionEnabled, tableId).toBe(expected);
        expect(cfn.Resources[tableId]!.DeletionPolicy, tableId).toBe('Retain');
      }
    }
  });

  it('protects the tables of the prod stage from deletion, and of no other stage (serverless.yml params)', async () => {
    const params = parseYaml(await readFile(join(ROOT, 'serverless.yml'), 'utf8')).params as Record<string, Record<string, Json>>;
    // As serverless v3 merges them: the stage's own params over params.default.
    const resolveFor = (stage: string) => {
      const values: Record<string, Json> = { 'sls:stage': stage, 'self:provider.region': REGION };
      for (const [name, value] of Object.entries({ ...params.default, ...params[stage] })) values[`param:${name}`] = value;
      return async (address: string) => {
        if (!(address in values)) throw new Error(`unresolved ${address}`);
        return values[address];
      };
    };
    for (const [stage, expected] of [['prod', true], ['dev', false], [STAGE, false]] as const) {
      const built = await resources({ resolveVariable: resolveFor(stage) });
      const protection = Object.values(built.resources)
        .filter((resource) => resource.Type === 'AWS::DynamoDB::Table')
        .map((resource) => resource.Properties.DeletionProtectionEnabled);
      expect(protection, stage).toEqual(TABLE_IDS.map(() => expected));
    }
  });

  it('writes JSON access logs of the HTTP API stage, with the request id the functions see and no header, to a log group kept 30 days', () => {
    const stageId = singleOfType(template, 'AWS::ApiGatewayV2::Stage');
    const settings = template.Resources[stageId]!.Properties.AccessLogSettings;
    const logGroupId = settings.DestinationArn['Fn::GetAtt'][0];
    expect(settings.DestinationArn).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    expect(template.Resources[logGroupId]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    expect(settings.Format).toBe(resources.ACCESS_LOG_FORMAT);
    const fields = JSON.parse(settings.Format) as Record<string, string>;
    // event.requestContext.requestId in the function is $context.requestId.
    expect(fields.requestId).toBe('$context.requestId');
    expect(fields).toMatchObject({
      ip: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      status: '$context.status',
      protocol: '$context.protocol',
      responseLength: '$context.responseLength',
      integrationLatency: '$context.integrationLatency',
      responseLatency: '$context.responseLatency',
      requestTime: '$context.requestTime',
      userArn: '$context.identity.userArn',
      caller: '$context.identity.caller',
    });
    for (const [name, variable] of Object.entries(fields)) expect(variable, name).toMatch(/^\$context\.[A-Za-z.]+$/);
    // Never a header (the Authorization header carries the API key or the SigV4 signature), the
    // query string or the body.
    expect(settings.Format).not.toMatch(/header|authorization|api.?key|token|secret|querystring|\$input|\$request|body/i);
  });
});

describe('poller limits and stage parameters of the generators', () => {
  const poller = catalogue.find((definition) => definition.sqs)!;
  const build = (pollerLimits: Parameters<typeof generated.buildServerlessFunctions>[0]['pollerLimits']) =>
    generated.buildServerlessFunctions({ service: SERVICE, stage: STAGE, pollerLimits });
  const sqsEvent = (fn: Record<string, Json>) => (fn.events as Json[]).find((event) => event.sqs).sqs;

  it('renders the limits as numbers on the queue consumers only, and no reservation for an empty pollerReservedConcurrency', () => {
    const { functions } = build({ maximumConcurrency: '20', reservedConcurrency: 30 });
    expect(functions[generated.functionKey(poller)]!.reservedConcurrency).toBe(30);
    expect(sqsEvent(functions[generated.functionKey(poller)]!).maximumConcurrency).toBe(20);
    for (const definition of catalogue.filter((d) => !d.sqs)) expect(functions[generated.functionKey(definition)]!.reservedConcurrency, definition.name).toBeUndefined();
    const unreserved = build({ maximumConcurrency: 20, reservedConcurrency: '' }).functions[generated.functionKey(poller)]!;
    expect(unreserved.reservedConcurrency).toBeUndefined();
    expect(sqsEvent(unreserved).maximumConcurrency).toBe(20);
  });

  it.each([
    ['a maximum above the reservation', { maximumConcurrency: 60, reservedConcurrency: 50 }, /must not exceed pollerReservedConcurrency/],
    ['a reservation without a maximum', { reservedConcurrency: 50 }, /must not exceed pollerReservedConcurrency/],
    ['a maximum below 2', { maximumConcurrency: 1, reservedConcurrency: 50 }, /outside 2-1000/],
    ['a maximum above 1000', { maximumConcurrency: 1001 }, /outside 2-1000/],
    ['a fraction', { maximumConcurrency: 2.5, reservedConcurrency: 50 }, /not a whole number/],
    ['words', { maximumConcurrency: 'fifty', reservedConcurrency: 50 }, /not a whole number/],
  ] as const)('refuses %s', (_name, limits, message) => {
    expect(() => build(limits)).toThrow(message);
  });

  it.each([
    ['a deletion protection that is not true or false', { deletionProtection: 'yes' }, /tableDeletionProtection: yes is not true or false/],
    ['an alarm address that is not one address', { alarmEmail: 'ops@example.com, dev@example.com' }, /alarmEmail: .* is not one e-mail address/],
    ['an alarm address without a domain', { alarmEmail: 'ops' }, /alarmEmail: ops is not one e-mail address/],
  ] as const)('infra/resources.cjs refuses %s', (_name, options, message) => {
    expect(() => resources.buildResources(STAGE, options)).toThrow(message);
  });
});

describe('catalogue checks of the generator (infra/serverless-functions.cjs)', () => {
  const notifier = catalogue.find((definition) => definition.name === 'notifier')!;
  const staleSweep = catalogue.find((definition) => definition.name === 'stale-sweep')!;
  const build = (definition: FunctionDefinition) => () => generated.buildServerlessFunctions({ service: SERVICE, stage: STAGE, catalogue: [definition] });
  const withStream = (stream: Partial<NonNullable<FunctionDefinition['stream']>>) => ({ ...notifier, stream: { ...notifier.stream!, ...stream } }) as FunctionDefinition;

  it('accepts the catalogue as it is', () => {
    expect(Object.keys(generated.buildServerlessFunctions({ service: SERVICE, stage: STAGE }).functions)).toHaveLength(catalogue.length);
  });

  it.each([
    ['a stream of an unknown table', withStream({ tables: ['gameServerTables' as never] }), /notifier: unknown table gameServerTables/],
    ['a stream of a table without one', withStream({ tables: ['claimTable' as never] }), /notifier: table claimTable has no stream/],
    ['a stream listed twice', withStream({ tables: ['gameServerTable', 'gameServerTable'] }), /notifier: a table stream listed twice/],
    ['an unknown failure queue', withStream({ onFailure: 'notifierFailures' as never }), /notifier: unknown queue notifierFailures/],
    ['an unknown event bus', { ...notifier, publishTo: 'bus' as never }, /notifier: unknown event bus bus/],
    ['two triggers', { ...notifier, schedule: 'rate(1 minute)' }, /notifier: needs exactly one trigger \(http, sqs, stream or schedule\), has stream, schedule/],
    ['no trigger', { ...staleSweep, schedule: undefined }, /stale-sweep: needs exactly one trigger .* has none/],
    ['a schedule that is no expression', { ...staleSweep, schedule: 'every minute' }, /stale-sweep: schedule every minute is not a rate/],
    [
      'an index the table does not have',
      { ...staleSweep, access: [{ table: 'gameServerTable', actions: ['dynamodb:Query'], index: 'stale' }] },
      /stale-sweep: gameServerTable has no index stale/,
    ],
    [
      'one index and all indexes at once',
      { ...staleSweep, access: [{ table: 'gameServerTable', actions: ['dynamodb:Query'], index: 'stale-watch', indexes: true }] },
      /stale-sweep: gameServerTable: either indexes \(all\) or index \(one\), not both/,
    ],
  ] as const)('refuses %s', (_name, definition, message) => {
    expect(build(definition as FunctionDefinition)).toThrow(message);
  });
});

describe('least privilege, per function', () => {
  const tableArns = new Set<string>();
  for (const [logicalId, resource] of Object.entries(resources.buildResources(STAGE).resources)) {
    if (resource.Type === 'AWS::DynamoDB::Table') tableArns.add(arn(logicalId));
  }

  it.each(catalogue.map((definition) => [definition.name, definition] as const))('%s: only item actions, reads only on GET routes, nothing but its own resources', (_name, definition) => {
    const grants = grantsOf(roleOf(definition));
    const keyed = Boolean(definition.http && !definition.http.public);
    const allowed = new Set([
      'logs:CreateLogGroup',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      ...ITEM_ACTIONS,
      ...(definition.sqs ? generated.SQS_CONSUMER_ACTIONS : []),
      ...(keyed ? ['ssm:GetParameter'] : []),
      ...(definition.stream ? [...generated.STREAM_READER_ACTIONS, 'sqs:SendMessage'] : []),
      ...(definition.publishTo ? ['events:PutEvents'] : []),
    ]);
    const actions = grants.flatMap((grant) => grant.actions);
    expect(actions.filter((action) => !allowed.has(action))).toEqual([]);
    // Request paths never delete, batch-write or scan; GET routes only read.
    if (definition.http) {
      expect(actions.filter((action) => ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Scan'].includes(action))).toEqual([]);
      if (definition.http.method === 'GET') expect(actions.filter((a) => a.startsWith('dynamodb:') && !READ_ACTIONS.includes(a))).toEqual([]);
    }
    // Every resource is one of this stack's tables (or their indexes), its own log group, its own
    // queue, its own streams, failure queue and bus, or the key parameter. The only wildcards are
    // the ARN suffixes AWS requires.
    const namedIndexes = definition.access.flatMap((access) => (access.index ? [`${arn(LOGICAL_IDS[access.table])}/index/${access.index}`] : []));
    for (const grant of grants) {
      for (const resource of grant.resources) {
        const table = [...tableArns].find((tableArn) => resource === tableArn || resource === `${tableArn}/index/*`) ?? namedIndexes.includes(resource);
        const ownLogGroup = resource.includes(`:log-group:/aws/lambda/${SERVICE}-${STAGE}-${definition.name}:`);
        const ownQueue = definition.sqs && resource === arn(LOGICAL_IDS[definition.sqs.queue]);
        const keyParameter = keyed && resource === API_KEYS_PARAMETER_ARN;
        const ownStream = definition.stream?.tables.some((streamTable) => resource === `\${${LOGICAL_IDS[streamTable]}.StreamArn}`);
        const ownFailureQueue = definition.stream && resource === arn(LOGICAL_IDS[definition.stream.onFailure]);
        const ownBus = definition.publishTo && resource === arn(LOGICAL_IDS[definition.publishTo]);
        expect(Boolean(table || ownLogGroup || ownQueue || keyParameter || ownStream || ownFailureQueue || ownBus), `${definition.name}: ${resource}`).toBe(true);
        expect(resource.replace(/(\/index\/\*|:\*|:log-stream:\*)$/, ''), resource).not.toContain('*');
      }
    }
  });

  /** A function's statements other than its logs, as { sid, actions, resources }. */
  const grantsBeyondLogs = (name: string) =>
    grantsOf(roleOf(catalogue.find((definition) => definition.name === name)!))
      .filter((grant) => !grant.actions.every((action) => action.startsWith('logs:')))
      .map((grant) => ({ sid: grant.statement.Sid, actions: sorted(grant.actions), resources: grant.resources }));

  it('notifier: reads exactly the two table streams, sends given-up batches to exactly its failure queue, puts events on exactly the bus, and only appends to the event feed', () => {
    expect(grantsBeyondLogs('notifier')).toEqual([
      { sid: 'Table0EventFeedTable', actions: ['dynamodb:PutItem'], resources: [arn(LOGICAL_IDS.eventFeedTable)] },
      {
        sid: 'ReadStreams',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
        resources: [`\${${LOGICAL_IDS.gameServerTable}.StreamArn}`, `\${${LOGICAL_IDS.loadBalancerTable}.StreamArn}`],
      },
      { sid: 'SendFailedBatches', actions: ['sqs:SendMessage'], resources: [arn(LOGICAL_IDS.notifierFailureQueue)] },
      { sid: 'PutEvents', actions: ['events:PutEvents'], resources: [arn(LOGICAL_IDS.eventBus)] },
    ]);
  });

  it('stale-sweep: queries the stale-watch index only (not the table, not the other indexes) and updates game servers, nothing else', () => {
    const gameServers = arn(LOGICAL_IDS.gameServerTable);
    expect(grantsBeyondLogs('stale-sweep').map(({ actions, resources: granted }) => ({ actions, resources: granted }))).toEqual([
      { actions: ['dynamodb:Query'], resources: [`${gameServers}/index/stale-watch`] },
      { actions: ['dynamodb:UpdateItem'], resources: [gameServers] },
    ]);
  });

  it('no function but the keyed routes can read a secret: the poller and the public health route have no ssm, secretsmanager or kms action', () => {
    const secretActions = (definition: FunctionDefinition) =>
      grantsOf(roleOf(definition))
        .flatMap((grant) => grant.actions)
        .filter((action) => /^(ssm|secretsmanager|kms):/.test(action));
    for (const definition of catalogue) {
      const keyed = Boolean(definition.http && !definition.http.public);
      expect(secretActions(definition), definition.name).toEqual(keyed ? ['ssm:GetParameter'] : []);
    }
    expect(catalogue.filter((definition) => definition.sqs).map(secretActions)).toEqual([[]]);
  });

  it('holds no key material: no plaintext key, no key reference, no secret-looking variable', () => {
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/resolve:ssm|resolve:secretsmanager|gsk_|local-key|test-key/);
    for (const [, lambda] of resourcesOfType('AWS::Lambda::Function')) {
      const names = Object.keys(lambda.Properties.Environment?.Variables ?? {});
      expect(names.filter((variable) => /KEY|SECRET|TOKEN|PASSWORD/.test(variable) && variable !== 'API_KEYS_PARAMETER')).toEqual([]);
    }
  });
});

describe('IAM (SigV4) mode: serverless package --param=auth=iam', () => {
  const lambdaIn = (cfn: typeof template, definition: FunctionDefinition) =>
    Object.entries(cfn.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === `${SERVICE}-${STAGE}-${definition.name}`)!;

  it('conforms to the CloudFormation resource specification too', async () => {
    expect(checkTemplate(await loadCfnSpec(), iamTemplate)).toEqual([]);
  });

  it('puts every route but the public ones behind AWS_IAM authorization', () => {
    const routes = Object.values(iamTemplate.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    const byKey = Object.fromEntries(routes.map((route) => [route.Properties.RouteKey, route.Properties.AuthorizationType ?? 'NONE']));
    const expected = Object.fromEntries(
      catalogue.filter((d) => d.http).map((d) => [`${d.http!.method} ${d.http!.path}`, d.http!.public ? 'NONE' : 'AWS_IAM']),
    );
    expect(byKey).toEqual(expected);
    // The API-key package authorizes in the functions: no route is AWS_IAM there.
    expect(resourcesOfType('AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties.AuthorizationType ?? 'NONE')).toEqual(
      resourcesOfType('AWS::ApiGatewayV2::Route').map(() => 'NONE'),
    );
  });

  it('gives keyed functions the principal-to-role map and no key parameter, and grants no function any secret', () => {
    for (const definition of catalogue) {
      const [, lambda] = lambdaIn(iamTemplate, definition);
      const variables = lambda.Properties.Environment.Variables;
      const keyed = Boolean(definition.http && !definition.http.public);
      expect({ mode: variables.AUTH_MODE, principals: variables.IAM_PRINCIPALS, parameter: variables.API_KEYS_PARAMETER }, definition.name).toEqual(
        keyed ? { mode: 'iam', principals: JSON.stringify(IAM_PRINCIPALS), parameter: undefined } : { mode: undefined, principals: undefined, parameter: undefined },
      );
      const role = iamTemplate.Resources[lambda.Properties.Role['Fn::GetAtt'][0]]!;
      const actions = grantsOf(role).flatMap((grant) => grant.actions);
      expect(actions.filter((action) => /^(ssm|secretsmanager|kms):/.test(action)), definition.name).toEqual([]);
    }
  });
});

describe('authentication settings of the generator (infra/serverless-functions.cjs)', () => {
  const build = (auth: Parameters<typeof generated.buildServerlessFunctions>[0]['auth']) =>
    generated.buildServerlessFunctions({ service: SERVICE, stage: STAGE, auth });

  it('lets keyed functions decrypt with a customer managed key only through SSM in the stack\'s region', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const { roles } = build({ apiKeysKmsKeyArn: key });
    for (const definition of catalogue) {
      const statements = roles[generated.roleLogicalId(definition)]!.Properties.Policies[0].PolicyDocument.Statement as Json[];
      const decrypt = statements.filter((statement) => toArray(statement.Action).some((action: string) => action.startsWith('kms:')));
      const keyed = Boolean(definition.http && !definition.http.public);
      expect(decrypt, definition.name).toEqual(
        keyed
          ? [
              {
                Sid: 'DecryptApiKeys',
                Effect: 'Allow',
                Action: ['kms:Decrypt'],
                Resource: [key],
                Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
              },
            ]
          : [],
      );
    }
  });

  it.each([
    ['an unknown mode', { mode: 'open' }, /params.auth/],
    ['iam without principals', { mode: 'iam' }, /needs iamPrincipals/],
    ['a wildcard principal', { mode: 'iam', iamPrincipals: { 'arn:aws:iam::123456789012:role/*': 'reader' } }, /not an IAM role or user ARN/],
    ['a session ARN', { mode: 'iam', iamPrincipals: { 'arn:aws:sts::123456789012:assumed-role/lb/s': 'reader' } }, /not an IAM role or user ARN/],
    ['an unknown role', { mode: 'iam', iamPrincipals: { 'arn:aws:iam::123456789012:role/x': 'root' } }, /root is not one of/],
    ['principals that are not JSON', { mode: 'iam', iamPrincipals: '{nope' }, /not valid JSON/],
    ['a KMS alias instead of a key ARN', { apiKeysKmsKeyArn: 'alias/aws/ssm' }, /not a KMS key ARN/],
  ] as const)('refuses %s', (_name, auth, message) => {
    expect(() => build(auth as never)).toThrow(message);
  });
});

describe.each(catalogue.map((definition) => [definition.name, definition] as const))('function %s', (name, definition) => {
  it('runs on nodejs22.x arm64 with its handler, settings and environment', () => {
    const [, lambda] = lambdaOf(definition);
    expect(lambda.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: generated.handlerOf(definition),
      Description: definition.description,
      ...(definition.timeout ? { Timeout: definition.timeout } : {}),
      ...(definition.memorySize ? { MemorySize: definition.memorySize } : {}),
    });
    const variables = lambda.Properties.Environment.Variables;
    expect(variables).toMatchObject({
      STAGE,
      GAME_SERVER_TABLE: { Ref: LOGICAL_IDS.gameServerTable },
      LB_TABLE: { Ref: LOGICAL_IDS.loadBalancerTable },
      CLAIM_TABLE: { Ref: LOGICAL_IDS.claimTable },
      POWERTOOLS_SERVICE_NAME: SERVICE,
      POWERTOOLS_METRICS_NAMESPACE: 'GameServerInventory',
    });
    // Keyed routes learn where the key digests are, never a key: no API_KEYS on AWS.
    const keyed = Boolean(definition.http && !definition.http.public);
    expect(variables.API_KEYS).toBeUndefined();
    expect(variables.API_KEYS_PARAMETER).toBe(keyed ? API_KEYS_PARAMETER : undefined);
    expect(variables.AUTH_MODE).toBeUndefined();
    expect(variables.IAM_PRINCIPALS).toBeUndefined();
  });

  /** Stream reads are dynamodb: actions too, on stream ARNs rather than tables. */
  const isStreamGrant = (grant: Grant) => grant.resources.every((resource) => resource.endsWith('.StreamArn}'));

  it('may use exactly the catalogue actions on exactly the catalogue tables', () => {
    const tableGrants = grantsOf(roleOf(definition)).filter((grant) => grant.actions.some((action) => action.startsWith('dynamodb:')) && !isStreamGrant(grant));
    const normalize = (grants: { actions: string[]; resources: string[] }[]) =>
      grants.map((grant) => ({ actions: sorted(new Set(grant.actions)), resources: sorted(grant.resources) })).sort((a, b) =>
        JSON.stringify(a).localeCompare(JSON.stringify(b)),
      );
    const expected = definition.access.map((access) => {
      const tableArn = arn(LOGICAL_IDS[access.table]);
      if (access.index) return { actions: access.actions, resources: [`${tableArn}/index/${access.index}`] };
      return { actions: access.actions, resources: access.indexes ? [tableArn, `${tableArn}/index/*`] : [tableArn] };
    });
    expect(normalize(tableGrants)).toEqual(normalize(expected));
    // Also as one set per table (its indexes included), however the statements happen to be split.
    for (const table of new Set(definition.access.map((access) => access.table))) {
      const tableArn = arn(LOGICAL_IDS[table]);
      const granted = tableGrants.filter((grant) => grant.resources.some((resource) => resource === tableArn || resource.startsWith(`${tableArn}/index/`)));
      const wanted = definition.access.filter((access) => access.table === table).flatMap((access) => access.actions);
      expect(sorted(new Set(granted.flatMap((grant) => grant.actions))), table).toEqual(sorted(new Set(wanted)));
    }
  });

  it('may only write its own logs, consume its own queue, (keyed routes) read the key parameter, (the notifier) read its streams, report failed batches and put events besides', () => {
    const logGroup = `:log-group:/aws/lambda/${SERVICE}-${STAGE}-${name}:`;
    const all = grantsOf(roleOf(definition));
    const streams = all.filter(isStreamGrant);
    const others = all.filter((grant) => !grant.actions.some((action) => action.startsWith('dynamodb:')));
    const logs = others.filter((grant) => grant.actions.every((action) => action.startsWith('logs:')));
    const failedBatches = others.filter((grant) => grant.statement.Sid === 'SendFailedBatches');
    const queues = others.filter((grant) => grant.actions.every((action) => action.startsWith('sqs:')) && !failedBatches.includes(grant));
    const secrets = others.filter((grant) => grant.actions.every((action) => action.startsWith('ssm:')));
    const events = others.filter((grant) => grant.actions.every((action) => action.startsWith('events:')));
    expect(logs.length + queues.length + secrets.length + failedBatches.length + events.length).toBe(others.length);
    const shape = (grants: Grant[]) => grants.map((grant) => ({ actions: sorted(grant.actions), resources: grant.resources }));
    expect(shape(streams)).toEqual(
      definition.stream
        ? [{ actions: sorted(generated.STREAM_READER_ACTIONS), resources: definition.stream.tables.map((table) => `\${${LOGICAL_IDS[table]}.StreamArn}`) }]
        : [],
    );
    expect(shape(failedBatches)).toEqual(definition.stream ? [{ actions: ['sqs:SendMessage'], resources: [arn(LOGICAL_IDS[definition.stream.onFailure])] }] : []);
    expect(shape(events)).toEqual(definition.publishTo ? [{ actions: ['events:PutEvents'], resources: [arn(LOGICAL_IDS[definition.publishTo])] }] : []);
    const keyed = Boolean(definition.http && !definition.http.public);
    expect(secrets.map((grant) => ({ actions: grant.actions, resources: grant.resources, condition: grant.statement.Condition }))).toEqual(
      keyed ? [{ actions: ['ssm:GetParameter'], resources: [API_KEYS_PARAMETER_ARN], condition: undefined }] : [],
    );
    expect(sorted(new Set(logs.flatMap((grant) => grant.actions)))).toEqual([
      'logs:CreateLogGroup',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    for (const resource of logs.flatMap((grant) => grant.resources)) {
      expect(resource).toMatch(/^arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:log-group:/);
      expect(resource).toContain(logGroup);
    }
    if (definition.sqs) {
      expect(queues.map((grant) => ({ actions: sorted(grant.actions), resources: grant.resources }))).toEqual([
        {
          actions: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
          resources: [arn(LOGICAL_IDS[definition.sqs.queue])],
        },
      ]);
    } else {
      expect(queues).toEqual([]);
    }
  });
});
