import { describe, expect, it } from 'vitest';
import resources from '../../infra/resources.cjs';

/**
 * The notification subscribers of a stage (serverless.yml params notifyWebhooks, notifyQueues):
 * how infra/resources.cjs reads them, what it refuses, and what it builds from them.
 */

const WEBHOOK = {
  name: 'matchmaker',
  url: 'https://mm.example.com/hooks/gs',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mm-webhook-AbCdEf',
};
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:lobby-notifications';

describe('checkNotifyWebhooks (params.notifyWebhooks)', () => {
  it('reads the JSON string --param passes and the YAML list alike, and nothing as no webhook', () => {
    expect(resources.checkNotifyWebhooks(JSON.stringify([WEBHOOK]))).toEqual([WEBHOOK]);
    expect(resources.checkNotifyWebhooks([WEBHOOK])).toEqual([WEBHOOK]);
    for (const empty of ['[]', '', ' ', undefined, null, []]) expect(resources.checkNotifyWebhooks(empty), String(empty)).toEqual([]);
  });

  it.each([
    ['text that is not JSON', '[{name:matchmaker}]', /params\.notifyWebhooks: not valid JSON/],
    ['an object instead of a list', JSON.stringify(WEBHOOK), /params\.notifyWebhooks: expected a JSON list/],
    ['an entry that is not an object', ['https://mm.example.com'], /params\.notifyWebhooks\[0\]: expected \{ "name", "url", "secretArn" \}/],
    ['an unknown field', [{ ...WEBHOOK, secret: 'plain' }], /params\.notifyWebhooks\[0\]: unknown field secret/],
    ['a missing name', [{ url: WEBHOOK.url, secretArn: WEBHOOK.secretArn }], /params\.notifyWebhooks\[0\]: name undefined must be kebab-case/],
    ['a name that is not kebab-case', [{ ...WEBHOOK, name: 'Match Maker' }], /params\.notifyWebhooks\[0\]: name "Match Maker" must be kebab-case/],
    ['a duplicate name', [WEBHOOK, { ...WEBHOOK, url: 'https://other.example.com/' }], /params\.notifyWebhooks matchmaker: duplicate name/],
    ['a url that is no URL', [{ ...WEBHOOK, url: 'mm.example.com/hooks' }], /matchmaker: url "mm\.example\.com\/hooks" is not a URL/],
    ['a plain http url', [{ ...WEBHOOK, url: 'http://mm.example.com/hooks/gs' }], /matchmaker: url http:\/\/mm\.example\.com\/hooks\/gs is not https/],
    ['credentials in the url', [{ ...WEBHOOK, url: 'https://user:pw@mm.example.com/' }], /matchmaker: url .* carries credentials/],
    ['a url with a fragment', [{ ...WEBHOOK, url: 'https://mm.example.com/#x' }], /matchmaker: url .* has a fragment/],
    ['a url with a space', [{ ...WEBHOOK, url: 'https://mm.example.com/a b' }], /matchmaker: url .* is not a valid API destination endpoint/],
    ['a missing secret', [{ name: 'matchmaker', url: WEBHOOK.url }], /matchmaker: secretArn undefined is not a Secrets Manager secret ARN/],
    ['an SSM parameter instead of a secret', [{ ...WEBHOOK, secretArn: 'arn:aws:ssm:eu-west-1:123456789012:parameter/mm' }], /matchmaker: secretArn .* is not a Secrets Manager secret ARN/],
    ['a wildcard secret', [{ ...WEBHOOK, secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mm-*' }], /is not a Secrets Manager secret ARN/],
    ['the secret itself', [{ ...WEBHOOK, secretArn: 's3cr3t' }], /is not a Secrets Manager secret ARN/],
  ] as const)('refuses %s', (_name, value, message) => {
    expect(() => resources.checkNotifyWebhooks(value)).toThrow(message);
  });
});

describe('checkNotifyQueues (params.notifyQueues)', () => {
  it('reads a JSON string or a list of queue ARNs, each named after its queue', () => {
    const expected = [{ name: 'lobby-notifications', arn: QUEUE_ARN }];
    expect(resources.checkNotifyQueues(JSON.stringify([QUEUE_ARN]), 'eu-west-1')).toEqual(expected);
    expect(resources.checkNotifyQueues([QUEUE_ARN])).toEqual(expected);
    expect(resources.checkNotifyQueues('[]')).toEqual([]);
  });

  it.each([
    ['a queue URL', ['https://sqs.eu-west-1.amazonaws.com/123456789012/lobby'], /params\.notifyQueues\[0\]: "https:.*" is not an SQS queue ARN/],
    ['an SNS topic', ['arn:aws:sns:eu-west-1:123456789012:lobby'], /params\.notifyQueues\[0\]: .* is not an SQS queue ARN/],
    ['a wildcard', ['arn:aws:sqs:eu-west-1:123456789012:*'], /is not an SQS queue ARN/],
    ['a FIFO queue', ['arn:aws:sqs:eu-west-1:123456789012:lobby.fifo'], /lobby\.fifo is a FIFO queue; only standard queues are supported/],
    ['a queue of another region', [QUEUE_ARN.replace('eu-west-1', 'us-east-1')], /is not in the stack's region eu-west-1/],
    ['the same queue twice', [QUEUE_ARN, QUEUE_ARN], /params\.notifyQueues: duplicate queue arn:aws:sqs:eu-west-1:123456789012:lobby-notifications/],
    ['two queues whose names read the same', [QUEUE_ARN, 'arn:aws:sqs:eu-west-1:210987654321:lobby_notifications'], /queue names that read the same \(LobbyNotifications\)/],
    ['not a list', '"arn:aws:sqs:eu-west-1:123456789012:lobby"', /params\.notifyQueues: expected a JSON list/],
  ] as const)('refuses %s', (_name, value, message) => {
    expect(() => resources.checkNotifyQueues(value, 'eu-west-1')).toThrow(message);
  });
});

describe('buildResources with subscribers', () => {
  const built = resources.buildResources('prod', { notifyWebhooks: [WEBHOOK], notifyQueues: [QUEUE_ARN], region: 'eu-west-1' });
  const webhook = resources.notifySubscriberIds({ kind: 'webhook', name: 'matchmaker' });
  const queue = resources.notifySubscriberIds({ kind: 'queue', name: 'lobby-notifications' });
  const typeOf = (logicalId: string) => built.resources[logicalId]?.Type;

  it('names the bus and the failure queue after the stage', () => {
    expect(built.names).toMatchObject({ eventBus: 'gs-inventory-prod', notifierFailureQueue: 'notifier-failures-prod' });
    expect(built.resources[resources.LOGICAL_IDS.eventBus]!.Properties.Name).toBe('gs-inventory-prod');
  });

  it('builds a connection, API destination, invoke role, rule, dead-letter queue, its policy and alarm per webhook', () => {
    expect(Object.fromEntries(Object.entries(webhook).map(([part, logicalId]) => [part, typeOf(logicalId)]))).toEqual({
      connection: 'AWS::Events::Connection',
      destination: 'AWS::Events::ApiDestination',
      role: 'AWS::IAM::Role',
      rule: 'AWS::Events::Rule',
      deadLetterQueue: 'AWS::SQS::Queue',
      deadLetterQueuePolicy: 'AWS::SQS::QueuePolicy',
      deadLetterAlarm: 'AWS::CloudWatch::Alarm',
    });
    expect(webhook.rule).toBe('NotifyWebhookMatchmakerRule');
  });

  it('builds a rule, dead-letter queue, its policy and alarm per queue, and no connection, destination or role', () => {
    expect(Object.fromEntries(Object.entries(queue).map(([part, logicalId]) => [part, typeOf(logicalId)]))).toEqual({
      connection: undefined,
      destination: undefined,
      role: undefined,
      rule: 'AWS::Events::Rule',
      deadLetterQueue: 'AWS::SQS::Queue',
      deadLetterQueuePolicy: 'AWS::SQS::QueuePolicy',
      deadLetterAlarm: 'AWS::CloudWatch::Alarm',
    });
    expect(queue.rule).toBe('NotifyQueueLobbyNotificationsRule');
  });

  it('puts the secret in the template only as a Secrets Manager dynamic reference', () => {
    const text = JSON.stringify(built.resources);
    expect([...text.matchAll(/\{\{resolve:[^}]*\}\}/g)].map(([reference]) => reference)).toEqual([`{{resolve:secretsmanager:${WEBHOOK.secretArn}:SecretString}}`]);
  });

  it('builds no subscriber resources without subscribers', () => {
    const plain = resources.buildResources('prod');
    const types = new Set(Object.values(plain.resources).map((resource) => resource.Type));
    for (const type of ['AWS::Events::Connection', 'AWS::Events::ApiDestination', 'AWS::Events::Rule', 'AWS::SQS::QueuePolicy', 'AWS::IAM::Role']) expect(types.has(type), type).toBe(false);
    expect(types.has('AWS::Events::EventBus')).toBe(true);
  });

  it('refuses malformed subscribers through buildResources too', () => {
    expect(() => resources.buildResources('prod', { notifyWebhooks: '[{"name":"mm","url":"http://x.example.com","secretArn":"x"}]' })).toThrow(/notifyWebhooks mm: url http:\/\/x\.example\.com is not https/);
    expect(() => resources.buildResources('prod', { notifyQueues: [QUEUE_ARN], region: 'us-east-1' })).toThrow(/not in the stack's region us-east-1/);
  });
});
