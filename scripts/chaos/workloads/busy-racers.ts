import { LONG_HOLD_SECONDS } from '../profiles';
import { sleep } from '../../../lib/backoff';
import { untilAnswered, type ClientContext } from './client';

export interface RacerOptions {
  racers: number;
  endpoints: string[];
  /** set-gs-busy holds that may be kept to the end (never set available). */
  keepBudget: number;
}

/**
 * Load-balancer-like clients racing for a few named servers with set-gs-busy, each attempt under
 * its own claim id (retried as is on 503/timeouts), and setting them available again later. A
 * set-gs-busy that never got a clear answer is followed by a set-gs-available with its claim id.
 * A few holds are kept, and (when holds exist) a few are left to run out.
 */
export async function runBusyRacers(ctx: ClientContext, options: RacerOptions): Promise<{ busy: number; kept: number; expiring: number }> {
  const stats = { busy: 0, kept: 0, expiring: 0 };
  let keepBudget = options.keepBudget;
  const racer = async (index: number) => {
    const rng = ctx.rng.fork(1000 + index);
    const client = `racer-${index}`;
    for (let n = 0; Date.now() < ctx.deadline; n++) {
      const endpoint = rng.pick(options.endpoints);
      const claimId = `b${ctx.seed}-${index}-${n}`;
      const keep = keepBudget > 0 && rng.chance(0.1);
      const expire = !keep && ctx.protocol.busyHold && rng.chance(0.15);
      const body = { claimId, ...(ctx.protocol.busyHold ? { holdSeconds: expire ? rng.int(2, 5) : LONG_HOLD_SECONDS } : {}) };
      const busy = await untilAnswered(ctx, { client, op: 'set-busy', claimId, endpoint, body }, { attempts: 6 });
      const setAvailable = () => untilAnswered(ctx, { client, op: 'set-available', claimId, endpoint, body: { claimId } }, { attempts: 10 });
      if (!busy) {
        await setAvailable(); // unsure whether it applied: undo it
      } else if (busy.status === 200) {
        stats.busy++;
        if (keep) {
          keepBudget--;
          stats.kept++;
        } else if (expire) {
          stats.expiring++;
        } else {
          await sleep(rng.between(100, 2000));
          await setAvailable();
        }
      } else {
        await sleep(rng.between(100, 500));
      }
    }
  };
  await Promise.all(Array.from({ length: options.racers }, (_, i) => racer(i)));
  return stats;
}
