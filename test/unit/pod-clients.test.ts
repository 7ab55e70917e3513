import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  DEFAULT_STREAM_TEMPLATE,
  EventSequence,
  gameServerMessage,
  generationUid,
  loadBalancerClaimId,
  nodeMessage,
  regionOfQueueUrl,
  renderForClaim,
  renderTemplate,
  TemplateError,
} from '../../clients/lib';
import { normalizeStatusMessage } from '../../lib/messages/normalize';
import { ClaimIdSchema } from '../../schemas/primitives';
import { parseCommandLine, parseLabels, UsageError } from '../../clients/cli/options';
import { GS_AGENT_OPTIONS, LB_BOOTSTRAP_OPTIONS, NODE_DRAIN_WATCHER_OPTIONS } from '../../clients/cli/specs';
import type { GameServer } from '../../schemas/http';

const server = (endpoint: string, node: string): GameServer => ({ endpoint, node, region: 'us-west', status: 'busy', lastHeartbeatAt: new Date(0).toISOString() });

describe('nginx stream config', () => {
  it('renders the upstream with every claimed server and a UDP listener', () => {
    const { config, targets } = renderForClaim('lb-pod-1', [server('10.0.0.1:7777', 'node-a'), server('10.0.0.2:7777', 'node-b')], {
      upstreamName: 'game_servers',
      listen: '7777',
      proxyTimeout: '30s',
      maxFails: 1,
      failTimeout: '10s',
    });
    expect(targets).toEqual(['10.0.0.1:7777', '10.0.0.2:7777']);
    expect(config).toBe(
      [
        '# Written by lb-bootstrap for claim lb-pod-1. Regenerated on every start: edit the template, not this file.',
        'upstream game_servers {',
        '    server 10.0.0.1:7777 max_fails=1 fail_timeout=10s;  # node node-a',
        '    server 10.0.0.2:7777 max_fails=1 fail_timeout=10s;  # node node-b',
        '}',
        '',
        'server {',
        '    listen 7777 udp;',
        '    proxy_pass game_servers;',
        '    proxy_timeout 30s;',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('renders a user template, with the public endpoints when asked', () => {
    const template = 'upstream {{upstreamName}} { {{#servers}}server {{address}} weight=1; {{/servers}}} # {{claimId}} {{listen}}';
    const withPublic = { ...server('10.0.0.1:7777', 'a'), publicEndpoint: 'gs-1.example.com:7777' };
    const { config } = renderForClaim('c', [withPublic], { upstreamName: 'u', listen: '9000', proxyTimeout: '1s', maxFails: 1, failTimeout: '1s', upstreamAddress: 'publicEndpoint', template });
    expect(config).toBe('upstream u { server gs-1.example.com:7777 weight=1; } # c 9000');
  });

  it('refuses unknown names, unclosed sections and values that could inject directives', () => {
    expect(() => renderTemplate('{{nope}}', {})).toThrow(new TemplateError('unknown template value {{nope}}'));
    expect(() => renderTemplate('{{#servers}}x', { servers: [] })).toThrow(/never closed/);
    expect(() => renderTemplate('listen {{listen}};', { listen: '7777; include /etc/passwd' })).toThrow(/not allowed/);
  });

  it('the built-in template uses only values lb-bootstrap provides', () => {
    const { config, targets } = renderForClaim('c', [server('10.0.0.1:1', 'n')], { upstreamName: 'u', listen: '1', proxyTimeout: '1s', maxFails: 1, failTimeout: '1s', template: DEFAULT_STREAM_TEMPLATE });
    expect(targets).toEqual(['10.0.0.1:1']);
    expect(config).toBe(
      [
        '# Written by lb-bootstrap for claim c. Regenerated on every start: edit the template, not this file.',
        'upstream u {',
        '    server 10.0.0.1:1 max_fails=1 fail_timeout=1s;  # node n',
        '}',
        '',
        'server {',
        '    listen 1 udp;',
        '    proxy_pass u;',
        '    proxy_timeout 1s;',
        '}',
        '',
      ].join('\n'),
    );
  });
});

describe('backoff', () => {
  it('waits a random time below a cap that doubles per attempt up to the maximum', () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, policy, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const delay = backoffDelay(attempt, policy, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(Math.min(1000, 100 * 2 ** (attempt - 1)));
      }),
    );
  });
});

describe('event messages', () => {
  it('numbers events 1, 2, 3 with a send time that never goes back when the clock does', () => {
    const times = [1000, 1005, 990, 1010];
    const sequence = new EventSequence(() => times.shift()!);
    expect([sequence.next(), sequence.next(), sequence.next(), sequence.next()]).toEqual([
      { seq: 1, sentAt: 1000 },
      { seq: 2, sentAt: 1005 },
      { seq: 3, sentAt: 1005 },
      { seq: 4, sentAt: 1010 },
    ]);
  });

  it('builds game-server and node messages the poller accepts as they are', () => {
    const gs = gameServerMessage({ endpoint: '10.0.0.1:7777', region: 'us-west', node: 'n1', podUid: generationUid('uid-1', 1_700_000_000_000), group: 'g' }, 'heartbeat', { seq: 7, sentAt: 1_700_000_000_000 }, 3);
    expect(normalizeStatusMessage({ body: JSON.stringify(gs), sentTimestamp: 1 })).toEqual({
      ok: true,
      event: { kind: 'game-server', event: 'heartbeat', endpoint: '10.0.0.1:7777', region: 'us-west', node: 'n1', podUid: 'uid-1.loyw3v28', group: 'g', players: 3, seq: 7, sentAt: 1_700_000_000_000, source: 'v1' },
    });
    const node = nodeMessage({ node: 'ip-10-0-0-12.ec2.internal', instanceId: 'i-0abc', watcher: 'w-1' }, 'draining', { seq: 2, sentAt: 1_700_000_000_000 }, 'spot-interruption');
    expect(normalizeStatusMessage({ body: JSON.stringify(node), sentTimestamp: 1 })).toEqual({
      ok: true,
      event: { kind: 'node', event: 'draining', node: 'ip-10-0-0-12.ec2.internal', instanceId: 'i-0abc', watcher: 'w-1', reason: 'spot-interruption', seq: 2, sentAt: 1_700_000_000_000 },
    });
  });

  it('accepts the minimal node event of the issue, seq defaulting to 0', () => {
    const body = JSON.stringify({ v: 1, kind: 'node', event: 'draining', node: 'node-a', sentAt: '2026-01-01T00:00:00Z' });
    expect(normalizeStatusMessage({ body, sentTimestamp: 1 })).toEqual({ ok: true, event: { kind: 'node', event: 'draining', node: 'node-a', seq: 0, sentAt: Date.parse('2026-01-01T00:00:00Z') } });
    expect(normalizeStatusMessage({ body: body.replace('"draining"', '"exploded"'), sentTimestamp: 1 }).ok).toBe(false);
  });

  it('derives valid claim ids from any pod identity, a new one per generation', () => {
    expect(loadBalancerClaimId('7c1f5e0a-1111-4222-8333-944445555666')).toBe('lb-7c1f5e0a-1111-4222-8333-944445555666');
    expect(loadBalancerClaimId('pod/with spaces', 3)).toBe('lb-pod-with-spaces-g3');
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 10 }), (uid, generation) => {
      expect(ClaimIdSchema.safeParse(loadBalancerClaimId(uid, generation)).success).toBe(true);
    }));
  });

  it('reads the region from an SQS queue URL', () => {
    expect(regionOfQueueUrl('https://sqs.eu-central-1.amazonaws.com/123456789012/q')).toBe('eu-central-1');
    expect(regionOfQueueUrl('http://127.0.0.1:9324/000000000000/q')).toBeUndefined();
  });
});

describe('command-line options', () => {
  it('takes a flag over its environment variable over the default, and the command after --', () => {
    const cli = parseCommandLine(GS_AGENT_OPTIONS, ['--heartbeat-seconds', '3', '--label', 'a=1', '--label', 'b=2', '--', 'game', '--port', '7777'], {
      HEARTBEAT_SECONDS: '9',
      GRACE_SECONDS: '7',
      NODE_NAME: 'node-env',
    });
    expect([cli.value('heartbeat-seconds'), cli.value('grace-seconds'), cli.value('stop-timeout-seconds'), cli.value('node')]).toEqual(['3', '7', '10', 'node-env']);
    expect(parseLabels(cli.list('label'))).toEqual({ a: '1', b: '2' });
    expect(cli.rest).toEqual(['game', '--port', '7777']);
  });

  it('names the missing option and its variable, and refuses unknown flags and stray arguments', () => {
    const cli = parseCommandLine(LB_BOOTSTRAP_OPTIONS, [], {});
    expect(() => cli.required('api-url')).toThrow(new UsageError('--api-url (or API_URL) is required'));
    expect(() => parseCommandLine(NODE_DRAIN_WATCHER_OPTIONS, ['--nope'], {})).toThrow(UsageError);
    expect(() => parseCommandLine(NODE_DRAIN_WATCHER_OPTIONS, ['stray'], {})).toThrow(/unexpected argument stray/);
    expect(() => parseLabels(['novalue'])).toThrow(/not key=value/);
  });

  it('gives each option of a command its own environment variable', () => {
    for (const specs of [GS_AGENT_OPTIONS, LB_BOOTSTRAP_OPTIONS, NODE_DRAIN_WATCHER_OPTIONS]) {
      const envs = Object.values(specs).flatMap((spec) => (spec.env ? [spec.env] : []));
      expect(new Set(envs).size).toBe(envs.length);
    }
  });
});
