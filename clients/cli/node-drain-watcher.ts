// node-drain-watcher: one per node (DaemonSet). Reports the node "draining" as soon as the instance
// metadata shows a Spot interruption notice or a rebalance recommendation; the inventory then takes
// every game server of the node out of the pool at once.
//   npm run node-drain-watcher -- --node ip-10-0-0-12.ec2.internal
//   npm run node-drain-watcher -- --node ip-10-0-0-12.ec2.internal --send ready     (un-drain by hand)
// See `npm run node-drain-watcher -- --help` and docs/CLIENTS.md.
import './env-defaults';
import { InstanceMetadataClient, NodeDrainWatcher, sendNodeEvent, type NodeIdentity } from '../lib';
import { describeError } from '../lib/log';
import { NODE_DRAIN_WATCHER_OPTIONS } from './specs';
import { loggerFrom, parseCommandLine, parseNumber, runCommand, senderFrom, usage, UsageError } from './options';


const SUMMARY = `Watches this node's instance metadata (IMDSv2) for a Spot interruption notice or a rebalance
recommendation and reports the node "draining" at once (then repeats its state every announce
interval). On start it reports "ready", or "draining" if a notice is already there.`;

await runCommand('node-drain-watcher', async () => {
  const cli = parseCommandLine(NODE_DRAIN_WATCHER_OPTIONS, process.argv.slice(2), process.env);
  if (cli.help) {
    process.stdout.write(usage('node-drain-watcher', SUMMARY, NODE_DRAIN_WATCHER_OPTIONS));
    return 0;
  }
  const logger = loggerFrom('node-drain-watcher', cli);
  const sender = senderFrom(cli, process.env, logger);
  const imds = new InstanceMetadataClient({ baseUrl: cli.value('imds')! });
  const send = cli.value('send');
  const instanceId = cli.value('instance-id') ?? (send ? undefined : await imds.get('instance-id').catch(() => undefined));
  const identity: NodeIdentity = {
    node: cli.required('node'),
    ...(instanceId ? { instanceId } : {}),
    ...(cli.value('node-region') ? { region: cli.value('node-region')! } : {}),
    ...(cli.value('pod-uid') ? { watcher: cli.value('pod-uid')! } : {}),
  };

  if (send !== undefined) {
    if (send !== 'ready' && send !== 'draining') throw new UsageError('--send must be ready or draining');
    const result = await sendNodeEvent(sender, identity, send, send === 'draining' ? 'manual' : undefined);
    sender.close();
    if (!result.ok) process.stderr.write(`node-drain-watcher: not sent: ${result.error}\n`);
    else process.stdout.write(`sent node ${send} for ${identity.node}\n`);
    return result.ok ? 0 : 1;
  }

  const watcher = new NodeDrainWatcher({
    identity,
    sender,
    imds,
    pollIntervalMs: parseNumber('poll-seconds', cli.value('poll-seconds'), { min: 0.05, max: 3600 })! * 1000,
    announceIntervalMs: parseNumber('announce-seconds', cli.value('announce-seconds'), { min: 0.05, max: 86_400 })! * 1000,
    logger,
  });
  process.on('unhandledRejection', (error) => logger.error('unexpected error', { error: describeError(error) }));
  await watcher.start();
  logger.info('watching', { node: identity.node, state: watcher.current.state });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // The node's state stays as it is: a watcher that stops is not a node that recovered.
  watcher.stop();
  sender.close();
  logger.info('stopped', { signal, sent: watcher.stats.sent, failed: watcher.stats.failed });
  return 0;
});
