import { performance } from 'node:perf_hooks';
import { summarize, round, type LatencySummary } from './stats';

/** What one operation reports: `ok` counts towards throughput; `miss` is an expected refusal. */
export type OpOutcome = 'ok' | 'miss';

export interface ClosedLoopOptions {
  concurrency: number;
  /** Stop issuing new operations after this long. */
  durationMs: number;
  /** Or after this many operations were issued (whichever comes first). */
  maxOps?: number;
  /** Checked before every new operation: true stops the run early (e.g. the pool is nearly used up). */
  shouldStop?: () => boolean;
  op: (worker: number, seq: number) => Promise<OpOutcome>;
}

export interface ClosedLoopResult {
  /** Operations that finished (ok + miss + errors). */
  completed: number;
  ok: number;
  misses: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  /** ok operations per second of wall time. */
  okPerSec: number;
  /** Latency of every finished operation, ok or not. */
  latency: LatencySummary;
  /** Latency of ok operations only. */
  okLatency: LatencySummary;
  stoppedEarly: boolean;
}

/**
 * Closed-loop load: `concurrency` workers, each issuing its next operation as soon as the last
 * one returned (like that many callers in a tight retry loop). Throughput is measured over the
 * wall time from the first start to the last completion.
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  const okLatencies: number[] = [];
  let issued = 0;
  let ok = 0;
  let misses = 0;
  let errors = 0;
  let firstError: string | undefined;
  let stoppedEarly = false;
  const started = performance.now();
  const deadline = started + options.durationMs;
  const maxOps = options.maxOps ?? Number.POSITIVE_INFINITY;

  const worker = async (id: number) => {
    while (performance.now() < deadline && issued < maxOps) {
      if (options.shouldStop?.()) {
        stoppedEarly = true;
        return;
      }
      const seq = issued++;
      const t0 = performance.now();
      try {
        const outcome = await options.op(id, seq);
        const ms = performance.now() - t0;
        latencies.push(ms);
        if (outcome === 'ok') {
          ok++;
          okLatencies.push(ms);
        } else {
          misses++;
        }
      } catch (error) {
        latencies.push(performance.now() - t0);
        errors++;
        firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  const elapsedMs = performance.now() - started;
  return {
    completed: latencies.length,
    ok,
    misses,
    errors,
    ...(firstError ? { firstError } : {}),
    elapsedMs: round(elapsedMs),
    okPerSec: round(ok / (elapsedMs / 1000), 1),
    latency: summarize(latencies),
    okLatency: summarize(okLatencies),
    stoppedEarly,
  };
}
