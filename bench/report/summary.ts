import type { RunRow } from '../lib/context';
import type { DashboardRow } from '../scenarios/dashboard';
import { round } from '../lib/stats';
import { FLOOR_QUERY, FLOOR_TRANSACT, FLOOR_TWO_WRITES, FLOOR_UPDATE } from '../scenarios/floor';
import { CASE_FLOOR, CYCLE_PART_CLAIM, CYCLE_PART_RELEASE } from '../lib/instance-cases';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  java: string;
  dynamodbLocal: string;
  platform: string;
  /** 1, 5 and 15 minute load averages when the bench started (other work on the machine shows here). */
  loadAverageAtStart: number[];
}

export interface Sections {
  floor: RunRow[];
  /** UpdateItem and TransactWriteItems measured right before each in-process claim-gs run. */
  adjacentFloor: RunRow[];
  claims: RunRow[];
  baseline: RunRow[];
  pairs: RunRow[];
  /** Claims at Lambda concurrency: claim-gs with one function instance per claimer (RunRow.case names the row). */
  instances: RunRow[];
  /** The floors measured right before each instances run (same stage, same concurrency, same case). */
  instancesFloor: RunRow[];
  listing: RunRow[];
  ingestion: RunRow[];
  /** Notification latency: claim -> confirm -> release cycles, each event timed from its write to its verified webhook receipt. */
  notifications: RunRow[];
  /** The dashboard over a fleet of realistic size: GET /fleet alone, then the page in headless Chromium. */
  dashboard: DashboardRow[];
}

export interface RatioRow {
  concurrency: number;
  oursPerSec: number;
  floorUpdatePerSec?: number;
  floorTwoWritesPerSec?: number;
  floorTransactPerSec?: number;
  baselineDistinctPerSec?: number;
  oursOverFloorUpdate?: number;
  oursOverFloorTwoWrites?: number;
  oursOverFloorTransact?: number;
  oursOverBaseline?: number;
}

/** Bars of the issue "claims at Lambda concurrency", per row. */
export const LAMBDA_GOAL = { throughput: 0.8, p99OverFloorP50: 3, refusedPerClaim: 0.2, doubleClaims: 0 } as const;

/** One row of the "claims at Lambda concurrency" table: a claim run next to its own floors. */
export interface LambdaGoalRow {
  case: string;
  concurrency: number;
  /** Servers in the run's pool. */
  poolSize: number;
  /** Claims won per second: distinct servers (pairs: distinct pairs) claimed/s; claim -> release cycles: wins/s. */
  claimsPerSec: number;
  /** The floor the row is compared with (instances.ts CASE_FLOOR), measured right before it. */
  floor: string;
  floorPerSec?: number;
  /**
   * The floor's p50 the p99 is compared with: the floor op's, or for the cycle floor the p50 of
   * its claim writes alone (the run's p99 is its claims' alone too).
   */
  floorP50Ms?: number;
  /** claims/s ÷ floor/s. */
  ratio?: number;
  p99Ms: number;
  p99OverFloorP50?: number;
  /** DynamoDB commands the claim path sent per claim won (listings, lost races and undos included; not the releases). */
  requestsPerClaim: number;
  /** Conditional UpdateItems setting status claimed that DynamoDB refused, per claim won (measured). */
  refusedClaimWritesPerClaim?: number;
  /** UpdateItems returning a server to the pool (the undo of a half-won set), per claim won, and how many were refused. */
  undoWritesPerClaim?: number;
  undoWritesRefused?: number;
  updateItemPerSec?: number;
  /** claims/s ÷ one conditional UpdateItem/s (adjacent). */
  claimsOverUpdateItem?: number;
  doubleClaims: number;
  /** Table and claim-record disagreements and same-node pairs (must be 0 like double claims). */
  otherViolations: number;
  /** Claim -> release cycles: the release's own DynamoDB commands per cycle and its p50. */
  releaseRequestsPerCycle?: number;
  releaseP50Ms?: number;
  /** The cycle floor's release p50 (the same release-claim handler, uncontended). */
  floorReleaseP50Ms?: number;
  errors: number;
  met: { throughput: boolean; p99: boolean; refused: boolean; doubleClaims: boolean };
}

/** Latency figures of one notifications run (milliseconds). */
export interface NotificationLatencyRow {
  concurrency: number;
  /** Claim -> confirm -> release cycles completed (4 events each). */
  cycles: number;
  /** Distinct events received per second, from the run's first request to the last receipt. */
  eventsPerSec: number;
  /** Receipt (receiver's Date.now()) − event `time` (the record's updatedAt, set by the writer just before its write), all events. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The same per event type. */
  byType: Record<string, { count: number; p50Ms: number; p99Ms: number; maxMs: number }>;
  /** Receipt − the client's clock when the write's request resolved, all events. */
  afterResolveP50Ms: number;
  afterResolveP99Ms: number;
  /** The latency in two: event time -> the record handed to the notifier, and from there -> receipt. */
  writeToNotifierP50Ms: number;
  writeToNotifierP99Ms: number;
  notifierToReceiptP50Ms: number;
  notifierToReceiptP99Ms: number;
  /** The stream event source's wait after an empty read (part of every latency here). */
  pollIntervalMs: number;
  expected: number;
  received: number;
  lost: number;
  outOfOrder: number;
  duplicates: number;
}

export interface Target {
  name: string;
  measured: string;
  threshold: string;
  met: boolean;
}

export interface Correctness {
  /** Over every claim-gs, set-gs-busy, pairs and instances run: must be 0. */
  ourDoubleClaims: number;
  ourTableDisagreements: number;
  /** Wins whose claim record is missing or names other servers or another attempt. */
  ourRecordDisagreements: number;
  ourSameNodePairs: number;
  ourErrors: number;
  baselineDoubleClaims: number;
  /** Hand-outs of the baseline that the table gives to someone else (last writer wins). */
  baselineLostHandOuts: number;
  /** Over every notifications run: events the writes mean, distinct ones received, and the differences (must be 0). */
  notificationsExpected: number;
  notificationsReceived: number;
  notificationsLost: number;
  notificationsOutOfOrder: number;
  /** Events received that no write of the run means (must be 0). */
  notificationsUnexpected: number;
  /** Deliveries of an event id already received (at-least-once delivery: counted, not an error). */
  notificationDuplicates: number;
  /** Every scenario produced at least one run with a throughput. */
  scenariosWithNumbers: Record<Exclude<keyof Sections, 'adjacentFloor' | 'instancesFloor'>, boolean>;
}

export interface BenchResults extends Sections {
  version: 1;
  mode: 'full' | 'quick';
  generatedAt: string;
  runtimeSeconds: number;
  machine: Machine;
  settings: Record<string, string | number>;
  method: string[];
  ratios: RatioRow[];
  /** The instances section's rows against their floors (the issue "claims at Lambda concurrency"). */
  lambdaConcurrency: LambdaGoalRow[];
  /** The notifications section's figures to quote: latency from write to verified webhook receipt, per concurrency. */
  notificationLatency: NotificationLatencyRow[];
  targets: Target[];
  correctness: Correctness;
}

const find = (rows: RunRow[], label: string, via: string, concurrency: number) =>
  rows.find((r) => r.label === label && r.via === via && r.concurrency === concurrency);

/**
 * The floor a claim run is compared with: the one measured right next to the in-process claim-gs
 * run at that concurrency when there is one, else the stand-alone floor sweep.
 */
export function floorFor(s: Pick<Sections, 'floor' | 'adjacentFloor'>, label: string, concurrency: number): RunRow | undefined {
  return s.adjacentFloor.find((r) => r.label === label && r.concurrency === concurrency) ?? find(s.floor, label, 'sdk', concurrency);
}

const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? round(a / b, 2) : undefined);

/** ours ÷ floor and ours ÷ baseline, per concurrency, for claim-gs in-process (count 1). */
export function ratios(s: Sections): RatioRow[] {
  return s.claims
    .filter((r) => r.label === 'claim-gs' && r.via === 'in-process')
    .map((ours) => {
      const c = ours.concurrency;
      const oursPerSec = ours.claims?.distinctPerSec ?? ours.perSec;
      const update = floorFor(s, FLOOR_UPDATE, c)?.perSec;
      const transact = floorFor(s, FLOOR_TRANSACT, c)?.perSec;
      const twoWrites = floorFor(s, FLOOR_TWO_WRITES, c)?.perSec;
      const baseline = find(s.baseline, 'baseline', 'sdk', c)?.claims?.distinctPerSec;
      return {
        concurrency: c,
        oursPerSec,
        ...(update !== undefined ? { floorUpdatePerSec: update } : {}),
        ...(twoWrites !== undefined ? { floorTwoWritesPerSec: twoWrites } : {}),
        ...(transact !== undefined ? { floorTransactPerSec: transact } : {}),
        ...(baseline !== undefined ? { baselineDistinctPerSec: baseline } : {}),
        ...(update ? { oursOverFloorUpdate: ratio(oursPerSec, update) } : {}),
        ...(twoWrites ? { oursOverFloorTwoWrites: ratio(oursPerSec, twoWrites) } : {}),
        ...(transact ? { oursOverFloorTransact: ratio(oursPerSec, transact) } : {}),
        ...(baseline ? { oursOverBaseline: ratio(oursPerSec, baseline) } : {}),
      };
    });
}

const perClaim = (n: number | undefined, wins: number) => (n !== undefined && wins > 0 ? round(n / wins, 3) : undefined);

/** Each instances run against the floors measured right before it (same case, same concurrency). */
export function lambdaConcurrency(s: Pick<Sections, 'instances' | 'instancesFloor'>): LambdaGoalRow[] {
  return s.instances.map((run) => {
    const name = run.case ?? run.label;
    const floorLabel = CASE_FLOOR[name] ?? FLOOR_TWO_WRITES;
    const adjacent = (label: string) => s.instancesFloor.find((f) => f.case === name && f.concurrency === run.concurrency && f.label === label);
    const floor = adjacent(floorLabel);
    const update = adjacent(FLOOR_UPDATE);
    const cycle = run.claims?.cycle;
    const claimsPerSec = cycle ? run.perSec : (run.claims?.distinctPerSec ?? run.perSec);
    const writes = run.writesByStatus ?? {};
    // A refused claim write: a conditional UpdateItem setting status claimed (claimServer). Without
    // that breakdown (the client could not read the status), every refused UpdateItem counts.
    const refused = writes['UpdateItem → claimed']?.refused ?? run.refusedByCommand?.UpdateItemCommand ?? 0;
    const undo = writes['UpdateItem → available'];
    const ratioValue = ratio(claimsPerSec, floor?.perSec);
    const floorP50 = floor?.parts?.[CYCLE_PART_CLAIM]?.p50 ?? floor?.latency.p50;
    const floorReleaseP50 = floor?.parts?.[CYCLE_PART_RELEASE]?.p50;
    const p99OverFloorP50 = ratio(run.latency.p99, floorP50);
    const refusedPerClaim = perClaim(refused, run.ok);
    const doubleClaims = run.claims?.doubleClaims ?? 0;
    const otherViolations = (run.claims?.tableDisagreements ?? 0) + (run.claims?.recordDisagreements ?? 0) + (run.claims?.sameNodeSets ?? 0);
    return {
      case: name,
      concurrency: run.concurrency,
      poolSize: run.claims?.poolSize ?? 0,
      claimsPerSec,
      floor: floorLabel,
      ...(floor ? { floorPerSec: floor.perSec } : {}),
      ...(floorP50 !== undefined ? { floorP50Ms: floorP50 } : {}),
      ...(ratioValue !== undefined ? { ratio: ratioValue } : {}),
      p99Ms: run.latency.p99,
      ...(p99OverFloorP50 !== undefined ? { p99OverFloorP50 } : {}),
      requestsPerClaim: run.roundTripsPerOk ?? Number.NaN,
      ...(refusedPerClaim !== undefined ? { refusedClaimWritesPerClaim: refusedPerClaim } : {}),
      ...(run.ok > 0 ? { undoWritesPerClaim: perClaim(undo?.sent ?? 0, run.ok)!, undoWritesRefused: undo?.refused ?? 0 } : {}),
      ...(update ? { updateItemPerSec: update.perSec } : {}),
      ...(update?.perSec ? { claimsOverUpdateItem: ratio(claimsPerSec, update.perSec)! } : {}),
      doubleClaims,
      otherViolations,
      ...(cycle ? { releaseRequestsPerCycle: cycle.releaseRequestsPerCycle, releaseP50Ms: cycle.releaseLatency.p50 } : {}),
      ...(floorReleaseP50 !== undefined ? { floorReleaseP50Ms: floorReleaseP50 } : {}),
      errors: run.errors,
      met: {
        throughput: ratioValue !== undefined && claimsPerSec >= LAMBDA_GOAL.throughput * floor!.perSec,
        p99: floorP50 !== undefined && run.latency.p99 <= LAMBDA_GOAL.p99OverFloorP50 * floorP50,
        refused: refusedPerClaim !== undefined && refusedPerClaim <= LAMBDA_GOAL.refusedPerClaim,
        doubleClaims: run.ok > 0 && doubleClaims === LAMBDA_GOAL.doubleClaims && otherViolations === 0,
      },
    };
  });
}

/** DESIGN.md's performance targets, evaluated at concurrency 16 on this run's own floor. */
export function targets(s: Sections, correctness: Correctness): Target[] {
  const c = 16;
  const ours = find(s.claims, 'claim-gs', 'in-process', c);
  const update = floorFor(s, FLOOR_UPDATE, c);
  const transact = floorFor(s, FLOOR_TRANSACT, c);
  const list: Target[] = [];
  if (ours?.claims && update) {
    const need = 0.8 * update.perSec;
    list.push({
      name: 'distinct servers claimed/s at c=16 >= 0.8 x raw conditional UpdateItem/s',
      measured: `${ours.claims.distinctPerSec.toFixed(0)}/s vs 0.8 x ${update.perSec.toFixed(0)}/s = ${need.toFixed(0)}/s (ratio ${(ours.claims.distinctPerSec / update.perSec).toFixed(2)})`,
      threshold: '>= 0.80',
      met: ours.claims.distinctPerSec >= need,
    });
    list.push({
      name: 'p99 claim latency at c=16 <= 3 x one conditional-write round trip (UpdateItem p50) at c=16',
      measured: `${ours.latency.p99.toFixed(1)} ms vs 3 x ${update.latency.p50.toFixed(1)} ms = ${(3 * update.latency.p50).toFixed(1)} ms`,
      threshold: '<= 3.0 x',
      met: ours.latency.p99 <= 3 * update.latency.p50,
    });
  }
  const twoWrites = floorFor(s, FLOOR_TWO_WRITES, c);
  if (ours?.claims && twoWrites) {
    list.push({
      name: '(reference) distinct servers claimed/s at c=16 >= 0.8 x UpdateItem + PutItem side by side/s (the writes one claim makes)',
      measured: `${ours.claims.distinctPerSec.toFixed(0)}/s vs 0.8 x ${twoWrites.perSec.toFixed(0)}/s = ${(0.8 * twoWrites.perSec).toFixed(0)}/s (ratio ${(ours.claims.distinctPerSec / twoWrites.perSec).toFixed(2)})`,
      threshold: '>= 0.80',
      met: ours.claims.distinctPerSec >= 0.8 * twoWrites.perSec,
    });
    list.push({
      name: '(reference) p99 claim latency at c=16 <= 3 x UpdateItem + PutItem side by side p50 at c=16',
      measured: `${ours.latency.p99.toFixed(1)} ms vs 3 x ${twoWrites.latency.p50.toFixed(1)} ms = ${(3 * twoWrites.latency.p50).toFixed(1)} ms`,
      threshold: '<= 3.0 x',
      met: ours.latency.p99 <= 3 * twoWrites.latency.p50,
    });
  }
  list.push({
    name: 'zero double claims (claim-gs, set-gs-busy, pairs, instances; every win checked against the table)',
    measured: `${correctness.ourDoubleClaims} double claims, ${correctness.ourTableDisagreements} table disagreements, ${correctness.ourRecordDisagreements} claim-record disagreements, ${correctness.ourSameNodePairs} same-node pairs`,
    threshold: '0',
    met: correctness.ourDoubleClaims === 0 && correctness.ourTableDisagreements === 0 && correctness.ourRecordDisagreements === 0 && correctness.ourSameNodePairs === 0,
  });
  return list;
}

/** Each notifications run's latency figures, for quoting (BenchResults.notificationLatency). */
export function notificationLatency(s: Pick<Sections, 'notifications'>): NotificationLatencyRow[] {
  return s.notifications.flatMap((run) => {
    const n = run.notifications;
    if (!n) return [];
    const all = n.latencyByType.all;
    const afterResolve = n.afterResolveByType.all;
    return [
      {
        concurrency: run.concurrency,
        cycles: n.cycles,
        eventsPerSec: n.deliveredPerSec,
        p50Ms: all?.p50 ?? Number.NaN,
        p99Ms: all?.p99 ?? Number.NaN,
        maxMs: all?.max ?? Number.NaN,
        byType: Object.fromEntries(
          Object.entries(n.latencyByType)
            .filter(([type]) => type !== 'all')
            .map(([type, l]) => [type, { count: l.count, p50Ms: l.p50, p99Ms: l.p99, maxMs: l.max }]),
        ),
        afterResolveP50Ms: afterResolve?.p50 ?? Number.NaN,
        afterResolveP99Ms: afterResolve?.p99 ?? Number.NaN,
        writeToNotifierP50Ms: n.split.writeToNotifier.p50,
        writeToNotifierP99Ms: n.split.writeToNotifier.p99,
        notifierToReceiptP50Ms: n.split.notifierToReceipt.p50,
        notifierToReceiptP99Ms: n.split.notifierToReceipt.p99,
        pollIntervalMs: n.pollIntervalMs,
        expected: n.expected,
        received: n.received,
        lost: n.lost,
        outOfOrder: n.outOfOrder,
        duplicates: n.duplicates,
      },
    ];
  });
}

/** The page rendered and refreshed, and the fleet route answered both from DynamoDB and from its cache. */
function hasDashboardNumbers(row: DashboardRow): boolean {
  const p = row.page;
  return Number.isFinite(p.firstRenderMs) && p.refresh.count > 0 && Number.isFinite(row.fleetRoute.uncached.p50) && Number.isFinite(row.fleetRoute.cached.p50) && row.fleetRoute.bodyBytes > 0;
}

export function correctness(s: Sections): Correctness {
  const ours = [...s.claims, ...s.pairs, ...s.instances];
  const sum = (rows: RunRow[], pick: (r: RunRow) => number | undefined) => rows.reduce((n, r) => n + (pick(r) ?? 0), 0);
  const told = (pick: (n: NonNullable<RunRow['notifications']>) => number) => sum(s.notifications, (r) => (r.notifications ? pick(r.notifications) : undefined));
  const hasNumbers = (rows: RunRow[]) => rows.length > 0 && rows.every((r) => Number.isFinite(r.perSec) && r.ok > 0);
  return {
    ourDoubleClaims: sum(ours, (r) => r.claims?.doubleClaims),
    ourTableDisagreements: sum(ours, (r) => r.claims?.tableDisagreements),
    ourRecordDisagreements: sum(ours, (r) => r.claims?.recordDisagreements),
    ourSameNodePairs: sum(ours, (r) => r.claims?.sameNodeSets),
    ourErrors: sum([...ours, ...s.listing, ...s.ingestion, ...s.notifications], (r) => r.errors),
    baselineDoubleClaims: sum(s.baseline, (r) => r.claims?.doubleClaims),
    baselineLostHandOuts: sum(s.baseline, (r) => r.claims?.tableDisagreements),
    notificationsExpected: told((n) => n.expected),
    notificationsReceived: told((n) => n.received),
    notificationsLost: told((n) => n.lost),
    notificationsOutOfOrder: told((n) => n.outOfOrder),
    notificationsUnexpected: told((n) => n.unexpected),
    notificationDuplicates: told((n) => n.duplicates),
    scenariosWithNumbers: {
      floor: hasNumbers(s.floor),
      claims: hasNumbers(s.claims),
      baseline: hasNumbers(s.baseline),
      pairs: hasNumbers(s.pairs),
      instances: hasNumbers(s.instances),
      listing: hasNumbers(s.listing),
      ingestion: hasNumbers(s.ingestion),
      notifications: hasNumbers(s.notifications),
      dashboard: s.dashboard.length > 0 && s.dashboard.every(hasDashboardNumbers),
    },
  };
}

export { FLOOR_QUERY, FLOOR_TRANSACT, FLOOR_TWO_WRITES, FLOOR_UPDATE };
