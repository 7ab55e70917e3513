// gs-agent: reports a game server's lifecycle to the inventory's status queue.
//   npm run gs-agent -- --endpoint 10.0.0.12:7777 --node node-a --region us-west -- ./my-game-server --port 7777
// See `npm run gs-agent -- --help` and docs/CLIENTS.md.
import './env-defaults';
import { readFile } from 'node:fs/promises';
import {
  GameServerAgent,
  generationUid,
  InstanceMetadataClient,
  superviseGameServer,
  type GameServerIdentity,
} from '../lib';
import { describeError } from '../lib/log';
import { GS_AGENT_OPTIONS } from './specs';
import { loggerFrom, parseCommandLine, parseLabels, parseNumber, runCommand, senderFrom, usage, UsageError } from './options';


const SUMMARY = `Runs beside (or wraps) a game server: sends "ready" on start, a heartbeat every interval,
"draining" when a Spot interruption notice or rebalance recommendation appears, and "terminating"
on SIGTERM, after which the game keeps running for the grace period. With a command after --, the
agent starts the game server as its child and stops it after the grace period.`;

await runCommand('gs-agent', async () => {
  const cli = parseCommandLine(GS_AGENT_OPTIONS, process.argv.slice(2), process.env);
  if (cli.help) {
    process.stdout.write(usage('gs-agent', SUMMARY, GS_AGENT_OPTIONS, ' [-- command args...]'));
    return 0;
  }
  const logger = loggerFrom('gs-agent', cli);
  const startedAt = Date.now();
  const endpoint = cli.value('endpoint') ?? (process.env.POD_IP && cli.value('port') ? `${process.env.POD_IP}:${cli.value('port')}` : undefined);
  if (!endpoint) throw new UsageError('--endpoint (or GS_ENDPOINT, or POD_IP with GS_PORT) is required');
  const imdsUrl = cli.value('imds')!;
  const imds = imdsUrl === 'off' ? undefined : new InstanceMetadataClient({ baseUrl: imdsUrl });
  const lifecycle = cli.value('lifecycle');
  if (lifecycle !== undefined && lifecycle !== 'spot' && lifecycle !== 'on-demand') throw new UsageError('--lifecycle must be spot or on-demand');
  let instanceId = cli.value('instance-id');
  if (!instanceId && imds) instanceId = await imds.get('instance-id').catch(() => undefined);

  const identity: GameServerIdentity = {
    endpoint,
    region: cli.required('region'),
    node: cli.required('node'),
    podUid: generationUid(cli.required('pod-uid'), startedAt),
    ...(cli.value('public-endpoint') ? { publicEndpoint: cli.value('public-endpoint')! } : {}),
    ...(cli.value('group') ? { group: cli.value('group')! } : {}),
    ...(parseLabels(cli.list('label')) ? { labels: parseLabels(cli.list('label'))! } : {}),
    ...(instanceId ? { instanceId } : {}),
    ...(lifecycle ? { lifecycle } : {}),
    ...(cli.value('capacity') ? { capacity: parseNumber('capacity', cli.value('capacity'), { max: 100_000 })! } : {}),
  };
  const playersFile = cli.value('players-file');
  const sender = senderFrom(cli, process.env, logger);
  const agent = new GameServerAgent({
    identity,
    sender,
    heartbeatIntervalMs: parseNumber('heartbeat-seconds', cli.value('heartbeat-seconds'), { min: 0.05, max: 3600 })! * 1000,
    ...(imds ? { imds, interruptionPollMs: parseNumber('imds-poll-seconds', cli.value('imds-poll-seconds'), { min: 0.05, max: 3600 })! * 1000 } : {}),
    ...(playersFile ? { players: async () => Number.parseInt((await readFile(playersFile, 'utf8')).trim(), 10) } : {}),
    logger,
  });

  // The agent must never take the game server down with it: anything unexpected is logged only.
  process.on('uncaughtException', (error) => logger.error('unexpected error', { error: describeError(error) }));
  process.on('unhandledRejection', (error) => logger.error('unexpected error', { error: describeError(error) }));

  logger.info('starting', { endpoint, node: identity.node, podUid: identity.podUid, wraps: cli.rest[0] ?? null });
  const code = await superviseGameServer({
    agent,
    ...(cli.rest.length > 0 ? { command: cli.rest } : {}),
    gracePeriodMs: parseNumber('grace-seconds', cli.value('grace-seconds'), { max: 86_400 })! * 1000,
    stopTimeoutMs: parseNumber('stop-timeout-seconds', cli.value('stop-timeout-seconds'), { max: 3600 })! * 1000,
    logger,
  });
  logger.info('stopped', { code, sent: agent.stats.sent, failed: agent.stats.failed });
  sender.close();
  return code;
});
