import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

type Json = any;
interface Resource {
  Type: string;
  Properties: Record<string, Json>;
  DependsOn?: string | string[];
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
let template: { Resources: Record<string, Resource> };
let output: string;
let packageDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'gs-inventory-package-'));
  packageDir = join(workDir, 'package');
  await mkdir(join(workDir, 'home'));
  await mkdir(join(workDir, 'tmp'));
  const args = ['-k', '10', String(PACKAGE_TIMEOUT_SECONDS), process.execPath, SERVERLESS, 'package', '--stage', STAGE, '--package', packageDir];
  try {
    const result = await run('timeout', args, { cwd: ROOT, env: isolatedEnv(), maxBuffer: 16 * 1024 * 1024 });
    output = `${result.stdout}\n${result.stderr}`;
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    const reason = failure.code === 124 ? `timed out after ${PACKAGE_TIMEOUT_SECONDS} s` : `exited with ${failure.code}`;
    throw new Error(`serverless package ${reason}:\n${failure.stdout ?? ''}\n${failure.stderr ?? ''}`);
  }
  template = JSON.parse(await readFile(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'));
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

  it('takes the tables, queues and alarm verbatim from infra/resources.cjs', () => {
    for (const [logicalId, resource] of Object.entries(resources.buildResources(STAGE).resources)) {
      expect(template.Resources[logicalId], logicalId).toEqual(resource);
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
    // API keys reach keyed routes only, as a deploy-time dynamic reference (never a literal).
    const keyed = Boolean(definition.http && !definition.http.public);
    expect(variables.API_KEYS).toBe(keyed ? `{{resolve:ssm:/${SERVICE}/${STAGE}/api-keys}}` : undefined);
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

  it('may only write its own logs and consume its own queue besides', () => {
    const logGroup = `:log-group:/aws/lambda/${SERVICE}-${STAGE}-${name}:`;
    const others = grantsOf(roleOf(definition)).filter((grant) => !grant.actions.some((action) => action.startsWith('dynamodb:')));
    const logs = others.filter((grant) => grant.actions.every((action) => action.startsWith('logs:')));
    const queues = others.filter((grant) => grant.actions.every((action) => action.startsWith('sqs:')));
    expect(logs.length + queues.length).toBe(others.length);
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
