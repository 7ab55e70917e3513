import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { countsSince, type CommandCounts } from './ddb';
import { performance } from 'node:perf_hooks';
import { ClaimLedger, CycleLedger, type LedgerCheck } from './ledger';
import { runClosedLoop } from './load';
import { describeRun, roundTrips, type BenchContext, type CycleFacts, type RunRow } from './context';
import { round, summarize } from './stats';

export type ClaimAttempt =
  | { kind: 'won'; claimId: string; servers: Array<{ endpoint: string; node?: string }> }
  /** A refusal the caller can act on (e.g. 409 gs.none_available), with the server's message. */
  | { kind: 'miss'; reason?: string };

export interface ClaimRunSpec {
  ctx: BenchContext;
  label: string;
  via: string;
  /** RunRow.case (which row of a scenario). */
  case?: string;
  concurrency: number;
  poolSize: number;
  /** Servers one win takes (2 for pairs). */
  serversPerWin: number;
  distinctNodes?: boolean;
  admin: DynamoDBDocumentClient;
  table: string;
  /** Status every won server must have in the table afterwards. */
  expectedStatus: string;
  /** The claims table, for routes that keep a claim record per win (claim-gs). */
  claimsTable?: string;
  /** Command counts of the DynamoDB client(s) the claim path uses. */
  counts: () => Promise<CommandCounts>;
  attempt: (worker: number, seq: number) => Promise<ClaimAttempt>;
  /**
   * Claim -> release cycles: every win is released right away by the same worker through this
   * call (which answers with the endpoints the release returned to the pool), so the pool never
   * runs dry and the run is not stopped early. Claims and releases are timed and counted apart:
   * the row's latency and requests per claim are the claims' alone. Needs claimsTable.
   */
  release?: {
    call: (worker: number, won: Extract<ClaimAttempt, { kind: 'won' }>) => Promise<string[]>;
    /** Command counts of the DynamoDB client(s) the release path uses (not the claim path's). */
    counts: () => Promise<CommandCounts>;
  };
}

/**
 * One measured claim run over a pool registered beforehand and sized so that it never runs dry:
 * the run stops early (and says so) when fewer than 2 x concurrency + 10 servers would be left.
 * Every win is recorded and checked against the table afterwards.
 */
export async function measureClaimRun(spec: ClaimRunSpec): Promise<RunRow> {
  const cycles = spec.release;
  if (cycles && !spec.claimsTable) throw new Error('claim -> release cycles need the claims table');
  const ledger = new ClaimLedger();
  const cycleLedger = new CycleLedger();
  const missReasons: Record<string, number> = {};
  const reserve = 2 * spec.concurrency * spec.serversPerWin + 10;
  const claimLatencies: number[] = [];
  const releaseLatencies: number[] = [];
  const before = await spec.counts();
  const releaseBefore = cycles ? await cycles.counts() : undefined;
  const cpu = spec.ctx.env.cpu.start();
  const result = await runClosedLoop({
    concurrency: spec.concurrency,
    durationMs: spec.ctx.profile.runMs,
    shouldStop: () => !cycles && ledger.distinctEndpoints >= spec.poolSize - reserve,
    op: async (worker, seq) => {
      const t0 = performance.now();
      let outcome: ClaimAttempt;
      try {
        outcome = await spec.attempt(worker, seq);
      } finally {
        claimLatencies.push(performance.now() - t0);
      }
      if (outcome.kind === 'miss') {
        const reason = outcome.reason ?? 'refused';
        missReasons[reason] = (missReasons[reason] ?? 0) + 1;
        return 'miss';
      }
      if (!cycles) {
        ledger.record(outcome.claimId, outcome.servers, spec.distinctNodes);
        return 'ok';
      }
      cycleLedger.won(outcome.claimId, outcome.servers, spec.distinctNodes);
      cycleLedger.releasing(outcome.claimId);
      const t1 = performance.now();
      const returned = await cycles.call(worker, outcome);
      releaseLatencies.push(performance.now() - t1);
      cycleLedger.releasedWith(outcome.claimId, returned);
      return 'ok';
    },
  });
  const cpuShare = cpu();
  const counts = countsSince(before, await spec.counts());
  const releaseCounts = cycles && releaseBefore ? countsSince(releaseBefore, await cycles.counts()) : undefined;
  let check: LedgerCheck;
  let cycle: CycleFacts | undefined;
  if (cycles) {
    const cycleCheck = await cycleLedger.check(spec.admin, spec.table, spec.claimsTable!);
    check = cycleCheck;
    cycle = {
      releases: releaseLatencies.length,
      releaseRequestsPerCycle: releaseLatencies.length ? round(releaseCounts!.commands / releaseLatencies.length, 3) : Number.NaN,
      releaseCommands: releaseCounts!.byCommand,
      releaseLatency: summarize(releaseLatencies),
      cycleLatency: result.latency,
      releaseMismatches: cycleCheck.releaseMismatches,
      heldWhenWon: cycleCheck.heldWhenWon,
    };
  } else {
    check = await ledger.check(spec.admin, spec.table, spec.expectedStatus, spec.claimsTable);
  }
  const seconds = result.elapsedMs / 1000;
  const row: RunRow = {
    label: spec.label,
    via: spec.via,
    ...(spec.case ? { case: spec.case } : {}),
    concurrency: spec.concurrency,
    ok: result.ok,
    misses: result.misses,
    errors: result.errors,
    ...(result.firstError ? { firstError: result.firstError } : {}),
    elapsedMs: result.elapsedMs,
    perSec: result.okPerSec,
    // A cycle's latency is the claim's alone (the release's is in claims.cycle).
    latency: cycles ? summarize(claimLatencies) : result.latency,
    ...roundTrips(counts, result.ok),
    claims: {
      // Cycles reuse the same servers: their claims/s is perSec (wins/s), not this.
      distinctPerSec: round(check.distinctEndpoints / spec.serversPerWin / seconds, 1),
      doubleClaims: check.doubleClaims,
      tableDisagreements: check.tableDisagreements,
      recordDisagreements: check.recordDisagreements,
      sameNodeSets: check.sameNodeSets,
      poolSize: spec.poolSize,
      poolUsed: check.distinctEndpoints,
      stoppedEarly: result.stoppedEarly,
      ...(result.misses > 0 ? { missReasons } : {}),
      ...(cycle ? { cycle } : {}),
    },
    cpu: cpuShare,
  };
  spec.ctx.log(describeRun(row));
  return row;
}

/** A group name for one run's pool (the pool of a run is its own region+group partition). */
export function poolGroup(...parts: Array<string | number>): string {
  return parts.join('-').replace(/[^A-Za-z0-9._-]/g, '-');
}

/**
 * Servers to register for a run: what the fastest comparable floor operation could take in the
 * run's time, plus headroom. Anything faster still cannot run the pool dry (the run stops early).
 */
export function poolSizeFor(ratePerSec: number, runMs: number, concurrency: number, serversPerWin = 1): number {
  return Math.ceil(ratePerSec * (runMs / 1000) * 1.25 * serversPerWin) + 4 * concurrency * serversPerWin + 50;
}
