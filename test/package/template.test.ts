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
/** Packaging takes seconds; `timeout` ends it should serverless-esbuild ever hang on a build error. */
const PACKAGE_TIMEOUT_SECONDS = 120;

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
 * Gateway), deletion protection, an alarm address and other poller limits (PROD_LIKE_PARAMS).
 */
let iamTemplate: Template;

/** IAM principals of the IAM-mode package: the IRSA roles of the pods and a reader. */
const IAM_PRINCIPALS = {
  'arn:aws:iam::123456789012:role/eks/lb-pods': 'load-balancer',
  'arn:aws:iam::123456789012:role/matchmaker': 'matchmaker',
  'arn:aws:iam::123456789012:user/dashboard': 'reader',
};

/** Stage parameters of the second package, as strings the way `--param` passes them. */
const PROD_LIKE_PARAMS = {
  tableDeletionProtection: 'true',
  alarmEmail: 'game-ops@example.com',
  pollerMaximumConcurrency: '20',
  pollerReservedConcurrency: '30',
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
});

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
      [iamTemplate, resources.buildResources(STAGE, { deletionProtection: true, alarmEmail: PROD_LIKE_PARAMS.alarmEmail })],
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
    const mappings = resourcesOfType('AWS::Lambda::EventSourceMapping').map(([, mapping]) => mapping.Properties);
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
        ...TABLE_IDS.map(resources.tableThrottleAlarmId),
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
    const properties = alarm(resources.tableThrottleAlarmId(tableId));
    const metrics: Json[] = properties.Metrics;
    const read = metrics.filter((metric) => metric.MetricStat);
    const targets = [`TableName=\${${tableId}}`, ...(table.GlobalSecondaryIndexes ?? []).map((gsi: Json) => `TableName=\${${tableId}},GlobalSecondaryIndexName=${gsi.IndexName}`)];
    expect(sorted(read.map((metric) => metricTarget(metric.MetricStat.Metric)))).toEqual(
      sorted(targets.flatMap((target) => [`AWS/DynamoDB ReadThrottleEvents ${target}`, `AWS/DynamoDB WriteThrottleEvents ${target}`])),
    );
    // CloudWatch's hard limit on the metrics of one alarm.
    expect(read.length).toBeLessThanOrEqual(10);
    const results = metrics.filter((metric) => metric.ReturnData !== false);
    expect(results).toHaveLength(1);
    const summed = /^SUM\(FILL\(\[(.*)\], 0\)\)$/.exec(results[0].Expression)?.[1]?.split(', ');
    expect(sorted(summed ?? [])).toEqual(sorted(read.map((metric) => metric.Id)));
    expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 5, DatapointsToAlarm: 3 });
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
      const values: Record<string, Json> = { 'sls:stage': stage };
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
    ]);
    const actions = grants.flatMap((grant) => grant.actions);
    expect(actions.filter((action) => !allowed.has(action))).toEqual([]);
    // Request paths never delete, batch-write or scan; GET routes only read.
    if (definition.http) {
      expect(actions.filter((action) => ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Scan'].includes(action))).toEqual([]);
      if (definition.http.method === 'GET') expect(actions.filter((a) => a.startsWith('dynamodb:') && !READ_ACTIONS.includes(a))).toEqual([]);
    }
    // Every resource is one of this stack's tables (or their indexes), its own log group, its own
    // queue or the key parameter. The only wildcards are the ARN suffixes AWS requires.
    for (const grant of grants) {
      for (const resource of grant.resources) {
        const table = [...tableArns].find((tableArn) => resource === tableArn || resource === `${tableArn}/index/*`);
        const ownLogGroup = resource.includes(`:log-group:/aws/lambda/${SERVICE}-${STAGE}-${definition.name}:`);
        const ownQueue = definition.sqs && resource === arn(LOGICAL_IDS[definition.sqs.queue]);
        const keyParameter = keyed && resource === API_KEYS_PARAMETER_ARN;
        expect(Boolean(table || ownLogGroup || ownQueue || keyParameter), `${definition.name}: ${resource}`).toBe(true);
        expect(resource.replace(/(\/index\/\*|:\*|:log-stream:\*)$/, ''), resource).not.toContain('*');
      }
    }
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

  it('may use exactly the catalogue actions on exactly the catalogue tables', () => {
    const tableGrants = grantsOf(roleOf(definition)).filter((grant) => grant.actions.some((action) => action.startsWith('dynamodb:')));
    const normalize = (grants: { actions: string[]; resources: string[] }[]) =>
      grants.map((grant) => ({ actions: sorted(new Set(grant.actions)), resources: sorted(grant.resources) })).sort((a, b) =>
        JSON.stringify(a).localeCompare(JSON.stringify(b)),
      );
    const expected = definition.access.map((access) => {
      const tableArn = arn(LOGICAL_IDS[access.table]);
      return { actions: access.actions, resources: access.indexes ? [tableArn, `${tableArn}/index/*`] : [tableArn] };
    });
    expect(normalize(tableGrants)).toEqual(normalize(expected));
    // Also as one set per table, however the statements happen to be split.
    for (const table of new Set(definition.access.map((access) => access.table))) {
      const granted = tableGrants.filter((grant) => grant.resources.includes(arn(LOGICAL_IDS[table])));
      const wanted = definition.access.filter((access) => access.table === table).flatMap((access) => access.actions);
      expect(sorted(new Set(granted.flatMap((grant) => grant.actions))), table).toEqual(sorted(new Set(wanted)));
    }
  });

  it('may only write its own logs, consume its own queue and (keyed routes) read the key parameter besides', () => {
    const logGroup = `:log-group:/aws/lambda/${SERVICE}-${STAGE}-${name}:`;
    const others = grantsOf(roleOf(definition)).filter((grant) => !grant.actions.some((action) => action.startsWith('dynamodb:')));
    const logs = others.filter((grant) => grant.actions.every((action) => action.startsWith('logs:')));
    const queues = others.filter((grant) => grant.actions.every((action) => action.startsWith('sqs:')));
    const secrets = others.filter((grant) => grant.actions.every((action) => action.startsWith('ssm:')));
    expect(logs.length + queues.length + secrets.length).toBe(others.length);
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
