// One chaos run per seed: start the cluster, register the fleet, run the workloads under the
// fault phases, stop the faults, let leases run out and the queue drain, read the final state,
// and check the promises against the whole history.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkObservation } from './checker';
import { CHAOS_KEYS, startCluster, type Cluster } from './cluster';
import type { FaultProxyStats } from './fault-proxy';
import { runFaultPhases, runPollerKills, type Phase } from './faults';
import { ChaosApi, History } from './history';
import { bundlePoller } from './poller-supervisor';
import { probeProtocol } from './probe';
import { SdkWarnings } from './sdk-warnings';
import { LEASE_SECONDS, MAX_INJECTED_DELAY_MS, PROFILES, type ChaosProfile } from './profiles';
import { sleep } from '../../lib/backoff';
import { Rng } from '../../testkit/rng';
import { readDeliveries, readSnapshot, waitDrained } from './snapshot';
import { StatusQueue, type QueueCounters } from './status-queue';
import type { CheckResult, DrainOutcome, Observation } from './types';
import { runBusyRacers } from './workloads/busy-racers';
import { runClaimers, type ClaimWorkloadStats } from './workloads/claims';
import type { Protocol } from './workloads/client';
import { buildFleet, registerFleet, type ServerRole } from './workloads/fleet';
import { runLegacyRaces } from './workloads/legacy-race';
import { startLifecycle } from './workloads/lifecycle';
import { sendPoison } from './workloads/poison';

export interface ChaosOptions {
  profile: 'quick' | 'full';
  seeds: number[];
  /** Log level of the API instances and the poller (default SILENT). */
  logLevel?: string;
  /** Write each seed's whole observation (history, messages, deliveries, tables) here. */
  dumpDir?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface QueueFaults extends QueueCounters {
  pollerKills: number;
  /** Poller processes that ran past the batch timeout and were replaced (a consequence, not an injection). */
  pollerBatchTimeouts: number;
  pollerStarts: number;
}

export interface SeedResult {
  seed: number;
  profile: 'quick' | 'full';
  startedAt: string;
  durationMs: number;
  protocol: Protocol;
  fleet: Record<ServerRole, number>;
  faults: {
    proxy: FaultProxyStats;
    queue: QueueFaults;
    outages: number;
    outageMs: number;
    injectedRules: number;
    phases: Phase[];
  };
  answers: { total: number; byStatus: Record<string, number>; byCode: Record<string, number>; byOp: Record<string, Record<string, number>> };
  /** Distinct claim ids answered 200 by claim-gs. */
  claimsSucceeded: number;
  /** Distinct set-gs-busy claim ids answered 200. */
  busySucceeded: number;
  workload: {
    claims: ClaimWorkloadStats;
    racers: { busy: number; kept: number; expiring: number };
    legacyRaces: { scenarios: number; claimed: number; restarts: number };
    churn: Record<string, number>;
  };
  drain: DrainOutcome & { recoveredAfterPollerRestart?: boolean };
  /** Observations that are not violations but explain them (e.g. SDK timeouts that only warn). */
  notes: string[];
  /** Where the whole observation of a run with violations was kept (this machine only). */
  observationFile?: string;
  violations: CheckResult['violations'];
  /** "check: reason" -> count. */
  exemptions: Record<string, number>;
  checked: Record<string, number>;
}

export interface ChaosResult {
  mode: 'quick' | 'full';
  seeds: number[];
  startedAt: string;
  durationMs: number;
  machine: { cpus: number; node: string };
  runs: SeedResult[];
  /** Violations by kind summed over the seeds. */
  totals: Record<string, number>;
  ok: boolean;
}

const QUEUE_FAULT_RATES = { delay: 0.15, duplicate: 0.15, lateCopy: 0.1 };

/** Runs one seed on a fresh cluster (own services, tables, proxy, APIs and poller), always torn down. */
export async function runChaosSeed(
  seed: number,
  profile: ChaosProfile,
  pollerScript: string,
  options: Pick<ChaosOptions, 'logLevel' | 'dumpDir' | 'log'> = {},
): Promise<SeedResult> {
  const started = Date.now();
  const log = (line: string) => options.log?.(`[seed ${seed} ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const workDir = mkdtempSync(join(tmpdir(), 'gs-chaos-'));
  const receiptsFile = join(workDir, 'receipts.jsonl');
  const rng = new Rng(seed);
  const warnings = new SdkWarnings().install();
  log(`starting DynamoDB Local, local SQS, fault proxy, ${profile.apiInstances} API instances and the poller`);
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster({
      seed,
      stage: 'chaos',
      apiInstances: profile.apiInstances,
      receiptsFile,
      pollerScript,
      poller: { visibilitySeconds: profile.visibilitySeconds, batchTimeoutMs: profile.batchTimeoutMs, concurrency: 2 },
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    });
    const { stack, proxy } = cluster;
    const protocol = await probeProtocol(cluster.apiUrls[0]!, CHAOS_KEYS.matchmaker);
    log(`protocol: holds ${protocol.holds}, renew ${protocol.renew}, set-gs-busy holds ${protocol.busyHold}`);

    const fleet = buildFleet(profile);
    const queue = new StatusQueue(cluster.sqs, stack.statusQueueUrl);
    // Poison first: it needs five receives (visibility timeouts) to reach the dead-letter queue.
    await sendPoison(queue, profile.poison, seed);
    await registerFleet(fleet, queue, cluster.ddb, stack.names.gameServerTable);
    log(`${fleet.servers.length} game servers registered; workload for ${profile.workloadMs / 1000} s`);

    const history = new History();
    const apiRandom = rng.fork(1);
    const start = Date.now();
    const deadline = start + profile.workloadMs;
    // One protocol object for every client: a renew route found missing is missing for all.
    const clientContext = (key: string, salt: number) => ({
      api: new ChaosApi(cluster!.apiUrls, key, history, profile.requestTimeoutMs, () => apiRandom.float()),
      rng: rng.fork(salt),
      seed,
      protocol,
      deadline,
    });
    const claimerCtx = clientContext(CHAOS_KEYS.matchmaker, 2);
    const racerCtx = clientContext(CHAOS_KEYS.loadBalancer, 7);

    const lifecycle = startLifecycle({ fleet, queue, rng: rng.fork(3), start, deadline, heartbeatMs: profile.heartbeatMs, rates: QUEUE_FAULT_RATES });
    const faults = runFaultPhases(proxy, rng.fork(4), { start, deadline, tables: { gameServers: stack.names.gameServerTable, claims: stack.names.claimTable } });
    const kills = runPollerKills(cluster.poller, rng.fork(5), { start, deadline, count: profile.pollerKills });
    const claimable = profile.fleet.stable + profile.fleet.churn + profile.fleet.legacyPool;
    const claims = runClaimers(claimerCtx, {
      claimers: profile.claimers,
      claimsPerClaimer: profile.claimsPerClaimer,
      thinkMs: profile.thinkMs,
      keepBudget: Math.floor(claimable / 4),
      principals: CHAOS_KEYS.matchmakers.map((key, i) => clientContext(key, 20 + i).api),
    });
    const racers = runBusyRacers(racerCtx, {
      racers: profile.racers,
      endpoints: fleet.byRole('busy-target').map((s) => s.endpoint),
      keepBudget: Math.max(1, Math.floor(profile.fleet.busyTargets / 3)),
    });
    const legacyRaces = runLegacyRaces({ ...claimerCtx, rng: rng.fork(6) }, { servers: fleet.byRole('legacy-race'), queue, start });

    const [claimStats, racerStats, raceStats, faultLog] = await Promise.all([claims, racers, legacyRaces, faults, kills]);
    await lifecycle.done;
    proxy.endOutage();
    proxy.setProfile({});
    await lifecycle.finalHeartbeats();
    log(`workload done: ${history.entries.length} requests, ${queue.counters.messages} messages; faults off, settling`);

    // Every lease answered has run out, every delayed message is visible, then the queue drains.
    await sleep(Math.max(queue.lastVisibleAt, Date.now() + LEASE_SECONDS * 1000) + 1000 - Date.now());
    let drain: SeedResult['drain'] = await waitDrained(cluster.sqs, stack.statusQueueUrl, profile.drainTimeoutMs);
    if (!drain.drained) {
      log(`queue not drained after ${drain.waitedSeconds} s (${drain.remaining} left): restarting the poller to finish`);
      await cluster.poller.restart();
      const second = await waitDrained(cluster.sqs, stack.statusQueueUrl, profile.drainTimeoutMs);
      drain = { ...drain, recoveredAfterPollerRestart: second.drained };
    }
    if (cluster.poller.failure) throw cluster.poller.failure;
    const pollerEvents = cluster.poller.events;
    const proxyStats = proxy.stats();
    // Nothing may write any more: poller and APIs stopped, delayed requests forwarded or dropped.
    await cluster.poller.stop();
    await cluster.stopApis();
    await sleep(MAX_INJECTED_DELAY_MS + 300);
    await proxy.close();

    const snapshot = await readSnapshot(cluster.ddb, cluster.sqs, {
      gameServerTable: stack.names.gameServerTable,
      claimTable: stack.names.claimTable,
      deadLetterQueueUrl: stack.deadLetterQueueUrl,
    });
    const deliveries = readDeliveries(receiptsFile, pollerEvents.exits, { now: snapshot.now, maxDelayMs: MAX_INJECTED_DELAY_MS });
    const observation: Observation = { history: history.entries, messages: queue.sent, deliveries, snapshot, drain };
    if (options.dumpDir) writeFileSync(join(options.dumpDir, `chaos-observation-seed-${seed}.json`), JSON.stringify(observation));
    const check = checkObservation(observation);
    const found = Object.values(check.violations).reduce((sum, v) => sum + v.count, 0);
    log(`checked: ${found} violations, ${check.exemptions.length} exemptions`);
    // A violation is worth its whole history: keep it (timing makes a run hard to reproduce).
    const kept = found > 0 && !options.dumpDir ? join(tmpdir(), `gs-chaos-observation-seed-${seed}-${process.pid}.json`) : undefined;
    if (kept) {
      writeFileSync(kept, JSON.stringify(observation));
      log(`the run's whole observation (history, messages, deliveries, tables) is in ${kept}`);
    }

    const exemptions: Record<string, number> = {};
    for (const exemption of check.exemptions) {
      const key = `${exemption.check}: ${exemption.reason}`;
      exemptions[key] = (exemptions[key] ?? 0) + 1;
    }
    const byStatus = history.countByStatus();
    const distinct200 = (op: string) => new Set(history.entries.filter((e) => e.op === op && e.status === 200).map((e) => `${e.endpoint ?? ''}|${e.claimId}`)).size;
    const fleetCounts = Object.fromEntries(
      (['stable', 'churn', 'busy-target', 'legacy-pool', 'legacy-race'] as const).map((role) => [role, fleet.byRole(role).length]),
    ) as Record<ServerRole, number>;
    return {
      seed,
      profile: profile.name,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      protocol,
      fleet: fleetCounts,
      faults: {
        proxy: proxyStats,
        queue: { ...queue.counters, pollerKills: pollerEvents.kills.length, pollerBatchTimeouts: pollerEvents.batchTimeouts, pollerStarts: pollerEvents.starts },
        outages: faultLog.outages,
        outageMs: Math.round(faultLog.outageMs),
        injectedRules: faultLog.injectedRules,
        phases: faultLog.phases.map((p) => p.phase),
      },
      answers: { total: history.entries.length, byStatus, byCode: history.countByCode(), byOp: history.countByOp() },
      claimsSucceeded: distinct200('claim'),
      busySucceeded: distinct200('set-busy'),
      workload: { claims: claimStats, racers: racerStats, legacyRaces: raceStats, churn: lifecycle.actions },
      drain,
      violations: check.violations,
      exemptions,
      checked: check.checked,
      ...(kept ? { observationFile: kept } : {}),
      notes: [
        ...(warnings.requestTimeoutWarnings > 0
          ? [`the API instances' DynamoDB client exceeded its requestTimeout ${warnings.requestTimeoutWarnings} times and only warned (throwOnRequestTimeout is not set): an unanswered request is waited for forever`]
          : []),
        ...(drain.recoveredAfterPollerRestart !== undefined ? [`the queue drained ${drain.recoveredAfterPollerRestart ? 'only' : 'not even'} after a poller restart`] : []),
      ],
    };
  } finally {
    warnings.uninstall();
    await cluster?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Runs every seed, one after the other. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const profile = PROFILES[options.profile];
  const runs: SeedResult[] = [];
  const poller = await bundlePoller();
  try {
    for (const seed of options.seeds) runs.push(await runChaosSeed(seed, profile, poller.script, options));
  } finally {
    poller.remove();
  }
  const totals: Record<string, number> = {};
  for (const run of runs) {
    for (const [kind, { count }] of Object.entries(run.violations)) totals[kind] = (totals[kind] ?? 0) + count;
  }
  return {
    mode: options.profile,
    seeds: options.seeds,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    machine: { cpus: cpus().length, node: process.version },
    runs,
    totals,
    ok: Object.values(totals).every((count) => count === 0),
  };
}
