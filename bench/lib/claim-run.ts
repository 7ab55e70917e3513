import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { countsSince, type CommandCounts } from './ddb';
import { ClaimLedger } from './ledger';
import { runClosedLoop } from './load';
import { describeRun, roundTrips, type BenchContext, type RunRow } from './context';
import { round } from './stats';

export type ClaimAttempt =
  | { kind: 'won'; claimId: string; servers: Array<{ endpoint: string; node?: string }> }
  /** A refusal the caller can act on (e.g. 409 gs.none_available), with the server's message. */
  | { kind: 'miss'; reason?: string };

export interface ClaimRunSpec {
  ctx: BenchContext;
  label: string;
  via: string;
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
}

/**
 * One measured claim run over a pool registered beforehand and sized so that it never runs dry:
 * the run stops early (and says so) when fewer than 2 x concurrency + 10 servers would be left.
 * Every win is recorded and checked against the table afterwards.
 */
export async function measureClaimRun(spec: ClaimRunSpec): Promise<RunRow> {
  const ledger = new ClaimLedger();
  const missReasons: Record<string, number> = {};
  const reserve = 2 * spec.concurrency * spec.serversPerWin + 10;
  const before = await spec.counts();
  const cpu = spec.ctx.env.cpu.start();
  const result = await runClosedLoop({
    concurrency: spec.concurrency,
    durationMs: spec.ctx.profile.runMs,
    shouldStop: () => ledger.distinctEndpoints >= spec.poolSize - reserve,
    op: async (worker, seq) => {
      const outcome = await spec.attempt(worker, seq);
      if (outcome.kind === 'miss') {
        const reason = outcome.reason ?? 'refused';
        missReasons[reason] = (missReasons[reason] ?? 0) + 1;
        return 'miss';
      }
      ledger.record(outcome.claimId, outcome.servers, spec.distinctNodes);
      return 'ok';
    },
  });
  const cpuShare = cpu();
  const counts = countsSince(before, await spec.counts());
  const check = await ledger.check(spec.admin, spec.table, spec.expectedStatus, spec.claimsTable);
  const row: RunRow = {
    label: spec.label,
    via: spec.via,
    concurrency: spec.concurrency,
    ok: result.ok,
    misses: result.misses,
    errors: result.errors,
    ...(result.firstError ? { firstError: result.firstError } : {}),
    elapsedMs: result.elapsedMs,
    perSec: result.okPerSec,
    latency: result.latency,
    ...roundTrips(counts, result.ok),
    claims: {
      distinctPerSec: round(check.distinctEndpoints / spec.serversPerWin / (result.elapsedMs / 1000), 1),
      doubleClaims: check.doubleClaims,
      tableDisagreements: check.tableDisagreements,
      recordDisagreements: check.recordDisagreements,
      sameNodeSets: check.sameNodeSets,
      poolSize: spec.poolSize,
      poolUsed: check.distinctEndpoints,
      stoppedEarly: result.stoppedEarly,
      ...(result.misses > 0 ? { missReasons } : {}),
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
