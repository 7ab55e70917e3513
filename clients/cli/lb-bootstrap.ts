// lb-bootstrap: what a UDP load-balancer pod runs at start-up. Claims game servers on distinct
// nodes, writes the nginx stream config, reports the load balancer, releases on SIGTERM.
//   npm run lb-bootstrap -- --api-url http://127.0.0.1:3000 --api-key lb-local-key --listen 127.0.0.1:7000 \
//     --config /tmp/lb/stream.conf --node node-a --pod-uid lb-1 --region us-west
// See `npm run lb-bootstrap -- --help` and docs/CLIENTS.md.
import './env-defaults';
import { readFile } from 'node:fs/promises';
import {
  claimServersForLoadBalancer,
  ClaimWatcher,
  generationUid,
  InventoryApiClient,
  LoadBalancerReporter,
  renderForClaim,
  writeFileAtomic,
  type LoadBalancerIdentity,
} from '../lib';
import { reloadNginx, type NginxReloadResult } from '../lib/nginx-reload';
import type { GameServer } from '../../schemas/http';
import { LB_BOOTSTRAP_OPTIONS } from './specs';
import { loggerFrom, parseCommandLine, parseLabels, parseNumber, runCommand, senderFrom, usage, UsageError } from './options';


const SUMMARY = `Claims game servers on distinct nodes (one POST /claim-gs, claim id from the pod identity, then
confirm), writes the nginx stream config, reports the load balancer "ready" with its targets, and on
SIGTERM reports "terminating" and releases the claim. When not enough servers are available it
retries with exponential backoff and jitter until the deadline, then exits 1 saying why. While it
runs it reads its claim every --watch-interval-ms: a server that is lost (draining, terminated,
stale, gone) is replaced with an available one on another node (POST /claims/{id}/replace; retried
with backoff while none is available) and nginx is reloaded with the claim's servers. A config
change nginx could not be made to load (SIGHUP to the pid in --nginx-pid-file) is fatal: it exits 1
saying why, so that the container restarts and the failure shows.`;

await runCommand('lb-bootstrap', async () => {
  const cli = parseCommandLine(LB_BOOTSTRAP_OPTIONS, process.argv.slice(2), process.env);
  if (cli.help) {
    process.stdout.write(usage('lb-bootstrap', SUMMARY, LB_BOOTSTRAP_OPTIONS));
    return 0;
  }
  const logger = loggerFrom('lb-bootstrap', cli);
  const startedAt = Date.now();
  const api = new InventoryApiClient({ baseUrl: cli.required('api-url'), apiKey: cli.required('api-key') });
  const podUid = cli.required('pod-uid');
  const configPath = cli.value('config')!;
  const listen = cli.value('listen')!;
  const region = cli.value('region');

  // Checked before claiming: a misconfigured reporter must not hold servers.
  const once = cli.flag('once');
  const listenPort = listen.split(':').pop()!;
  const endpoint = cli.value('endpoint') ?? (process.env.POD_IP ? `${process.env.POD_IP}:${listenPort}` : undefined);
  if (!once && !endpoint) throw new UsageError('--endpoint (or LB_ENDPOINT, or POD_IP) is required to report the load balancer');
  if (!once && !region) throw new UsageError('--region (or LB_REGION) is required to report the load balancer');
  const identity: LoadBalancerIdentity | undefined = once
    ? undefined
    : {
        endpoint: endpoint!,
        region: region!,
        node: cli.required('node'),
        // This run's generation: a restarted container reports as a newer load balancer.
        podUid: generationUid(podUid, startedAt),
        ...(cli.value('public-endpoint') ? { publicEndpoint: cli.value('public-endpoint')! } : {}),
      };
  const sender = identity ? senderFrom(cli, process.env, logger) : undefined;
  const reporter =
    identity && sender
      ? new LoadBalancerReporter({
          identity,
          sender,
          heartbeatIntervalMs: parseNumber('heartbeat-seconds', cli.value('heartbeat-seconds'), { min: 0.05, max: 3600 })! * 1000,
          logger,
        })
      : undefined;

  const upstreamAddress = cli.value('upstream-address');
  if (upstreamAddress !== 'endpoint' && upstreamAddress !== 'publicEndpoint') throw new UsageError('--upstream-address must be endpoint or publicEndpoint');
  const templatePath = cli.value('template');
  const template = templatePath ? await readFile(templatePath, 'utf8') : undefined;
  const labels = parseLabels(cli.list('label'));
  const leaseSeconds = parseNumber('lease-seconds', cli.value('lease-seconds'), { min: 1, max: 3600 });
  const group = cli.value('group');
  const count = parseNumber('count', cli.value('count'), { min: 1, max: 10 })!;
  const backoff = {
    baseMs: parseNumber('retry-base-ms', cli.value('retry-base-ms'), { min: 1 })!,
    maxMs: parseNumber('retry-max-ms', cli.value('retry-max-ms'), { min: 1 })!,
  };
  // --watch-seconds (the older form) wins when given; 0 turns the watch off.
  const watchIntervalMs =
    cli.value('watch-seconds') !== undefined
      ? parseNumber('watch-seconds', cli.value('watch-seconds'), { max: 3600 })! * 1000
      : parseNumber('watch-interval-ms', cli.value('watch-interval-ms'), { max: 3_600_000 })!;
  const replaceLost = cli.flag('replace-lost');
  // One pair of signal listeners for the whole run, installed before anything is claimed: a SIGTERM
  // at any moment (while claiming, reloading nginx, starting the reporter) ends the run in order
  // (terminating, claim released) instead of killing the process with its claim held.
  const abort = new AbortController();
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      abort.abort();
      resolve(signal);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  const result = await claimServersForLoadBalancer({
    api,
    podUid,
    count,
    ...(region ? { region } : {}),
    ...(group ? { group } : {}),
    ...(labels ? { labels } : {}),
    ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
    deadlineMs: parseNumber('deadline-seconds', cli.value('deadline-seconds'), { max: 86_400 })! * 1000,
    backoff,
    logger,
    signal: abort.signal,
  });
  if (!result.ok) {
    process.stderr.write(`lb-bootstrap: could not claim ${cli.value('count')} game servers: ${result.reason}\n`);
    return 1;
  }
  const claimId = result.claimId;
  const render = (servers: GameServer[]) =>
    renderForClaim(claimId, servers, {
      upstreamName: cli.value('upstream-name')!,
      listen,
      proxyTimeout: cli.value('proxy-timeout')!,
      maxFails: parseNumber('max-fails', cli.value('max-fails'), { max: 100 })!,
      failTimeout: cli.value('fail-timeout')!,
      upstreamAddress,
      ...(template !== undefined ? { template } : {}),
    });
  const rendered = render(result.servers);
  const previousConfig = once ? undefined : await readFile(configPath, 'utf8').catch(() => undefined);
  await writeFileAtomic(configPath, rendered.config);
  logger.info('config written', { config: configPath, claimId, targets: rendered.targets, replayed: result.replayed, attempts: result.attempts });
  process.stdout.write(`claimed ${rendered.targets.join(' ')} (claim ${claimId}); nginx config at ${configPath}\n`);
  if (!reporter || !sender) return 0;

  const pidFile = cli.value('nginx-pid-file');
  /** Reloads nginx (when it has a pid file); a failure is logged here and ends the run below. */
  const reload = async (): Promise<NginxReloadResult | undefined> => {
    if (!pidFile) return undefined;
    const reloaded = await reloadNginx(pidFile);
    if (reloaded.ok) logger.info('nginx reloaded', { pid: reloaded.pid });
    else logger.error('nginx not reloaded', { pidFile, failure: reloaded.failure, reason: reloaded.reason });
    return reloaded;
  };
  /** Ends the run with 1, so that Kubernetes restarts the container and the restarts show. */
  const exitForRestart = async (why: string) => {
    process.stderr.write(`lb-bootstrap: ${why}; exiting so that the container restarts\n`);
    // Out of the pool (terminating). The claim stays: the restarted container replays it.
    await reporter.terminate();
    sender.close();
    return 1;
  };
  // nginx keeps proxying to upstreams it should have dropped: fatal.
  const failReload = (reason: string) => exitForRestart(`nginx not reloaded: ${reason}`);

  // A restarted container (the init container does not run again) whose claim changed: nginx
  // still serves the old config. On a pod's first start the init container wrote the same one.
  if (previousConfig !== undefined && previousConfig !== rendered.config) {
    const reloaded = await reload();
    if (reloaded && !reloaded.ok) return failReload(reloaded.reason);
  }
  await reporter.start(rendered.targets);

  // Until SIGTERM (or until every claimed server is gone and none can replace them, or nginx cannot
  // be reloaded: then exit 1; the restarted container releases a claim whose servers are gone and
  // makes a new one). Polling the claim needs no endpoint on this pod that the API would call.
  const ended = await new Promise<NodeJS.Signals | 'all-lost' | { reloadFailed: string }>((resolve) => {
    void stopped.then(resolve);
    if (watchIntervalMs === 0) return;
    const watcher = new ClaimWatcher({
      api,
      claimId,
      servers: result.servers,
      intervalMs: watchIntervalMs,
      ...(replaceLost
        ? {
            replaceLost: {
              // A replacement matches what this load balancer claims from.
              request: { ...(region ? { region } : {}), ...(group ? { group } : {}), ...(labels ? { labels } : {}) },
              backoff,
              onReplaced: (lost, replacement) => process.stdout.write(`replaced ${lost.endpoint} with ${replacement}\n`),
            },
          }
        : {}),
      logger,
      onChange: async (usable) => {
        const updated = render(usable);
        await writeFileAtomic(configPath, updated.config);
        process.stdout.write(`upstreams now ${updated.targets.join(' ')}\n`);
        const reloaded = await reload();
        if (reloaded && !reloaded.ok) {
          watcher.stop();
          return resolve({ reloadFailed: reloaded.reason });
        }
        await reporter.updateTargets(updated.targets);
      },
      onAllLost: () => resolve('all-lost'),
    });
    watcher.start();
    void stopped.then(() => watcher.stop());
  });
  if (typeof ended === 'object') return failReload(ended.reloadFailed);
  if (ended === 'all-lost') return exitForRestart('every claimed game server is gone (the restarted container claims anew)');
  logger.info('shutting down', { signal: ended, claimId });
  await reporter.terminate();
  const released = await api.release(claimId);
  if (released.ok) logger.info('claim released', { claimId, released: released.body.released });
  else logger.error('claim not released', { claimId, status: released.status, error: released.message });
  sender.close();
  return released.ok || released.status === 404 ? 0 : 1;
});
