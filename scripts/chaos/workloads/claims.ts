import { errorCode } from '../history';
import { LEASE_SECONDS, LONG_HOLD_SECONDS } from '../profiles';
import { sleep } from '../../../lib/backoff';
import { untilAnswered, type ClientContext } from './client';
import { CLAIM_POOLS, LEGACY_POOL_GROUP, LEGACY_REGION } from './fleet';

type Plan = 'release' | 'expire' | 'renew' | 'confirm-release' | 'confirm-keep' | 'confirm-expire';

export interface ClaimWorkloadOptions {
  claimers: number;
  claimsPerClaimer: number;
  thinkMs: [number, number];
  /** Confirmed claims that may be kept to the end (the rest are released): keeps the pool from running dry. */
  keepBudget: number;
  /**
   * One API client per principal (a named key each): claimer i claims, confirms, renews and
   * releases with principal i mod n, so that the claims of different owners race for one pool
   * under the faults. Default: the context's client.
   */
  principals?: ClientContext['api'][];
}

export interface ClaimWorkloadStats {
  plans: Record<string, number>;
  kept: number;
}

/**
 * Matchmaker-like clients: each claims (1 server, or a pair on distinct nodes) under a short
 * lease, retries the same claim id on 503/timeouts (sometimes at 2-3 instances at once), then
 * releases, lets the lease run out, renews, or confirms (and releases later, keeps the hold, or
 * lets a short hold run out). A confirm that never got a clear answer is followed by a release,
 * as a careful client would.
 */
export async function runClaimers(ctx: ClientContext, options: ClaimWorkloadOptions): Promise<ClaimWorkloadStats> {
  const stats: ClaimWorkloadStats = { plans: {}, kept: 0 };
  let keepBudget = options.keepBudget;

  const claimer = async (index: number) => {
    const own: ClientContext = options.principals?.length ? { ...ctx, api: options.principals[index % options.principals.length]! } : ctx;
    const rng = ctx.rng.fork(index);
    const client = `claimer-${index}`;
    await sleep(rng.between(0, 500));
    for (let n = 0; n < options.claimsPerClaimer && Date.now() < ctx.deadline; n++) {
      const claimId = `c${ctx.seed}-${index}-${n}`;
      let plan = rng.pick<Plan>(['release', 'release', 'expire', 'renew', 'confirm-release', 'confirm-release', 'confirm-keep', 'confirm-expire']);
      if (plan === 'renew' && !ctx.protocol.renew) plan = 'release';
      if (plan === 'confirm-expire' && !ctx.protocol.holds) plan = 'confirm-release';
      if (plan === 'confirm-keep') {
        if (keepBudget > 0) keepBudget--;
        else plan = 'confirm-release';
      }
      stats.plans[plan] = (stats.plans[plan] ?? 0) + 1;

      const legacy = rng.chance(0.12);
      const pool = rng.pick(CLAIM_POOLS);
      const count = rng.chance(0.4) ? 2 : 1;
      const body: Record<string, unknown> = {
        claimId,
        count,
        group: legacy ? LEGACY_POOL_GROUP : pool.group,
        ...(legacy ? { region: LEGACY_REGION } : rng.chance(0.7) ? { region: pool.region } : {}),
        ...(count > 1 ? { distinctNodes: true } : {}),
        leaseSeconds: LEASE_SECONDS,
        ...(ctx.protocol.holds ? { holdSeconds: plan === 'confirm-expire' ? rng.int(3, 6) : LONG_HOLD_SECONDS } : {}),
      };
      const claimed = await untilAnswered(own, { client, op: 'claim', claimId, body }, { attempts: 8, fanout: rng.chance(0.2) ? rng.int(2, 3) : 1 });
      if (claimed?.status !== 200) {
        await sleep(rng.between(100, 600));
        continue;
      }

      const release = () => untilAnswered(own, { client, op: 'release', claimId }, { attempts: 10 });
      const confirm = () => untilAnswered(own, { client, op: 'confirm', claimId }, { attempts: 6 });
      switch (plan) {
        case 'release':
          await sleep(rng.between(0, 1500));
          await release();
          break;
        case 'expire':
          break;
        case 'renew': {
          for (let i = rng.int(1, 3); i > 0; i--) {
            await sleep(rng.between(1000, 3000));
            const renewed = await untilAnswered(own, { client, op: 'renew', claimId, body: { seconds: LEASE_SECONDS } }, { attempts: 6 });
            if (renewed?.status === 404 && errorCode(renewed) === 'route.not_found') ctx.protocol.renew = false;
            if (renewed?.status !== 200) break;
          }
          if (rng.chance(0.5)) await release();
          break;
        }
        case 'confirm-release':
        case 'confirm-keep':
        case 'confirm-expire': {
          // Sometimes only after the lease has run out: confirming then may find the servers gone.
          await sleep(rng.chance(0.1) ? rng.between(LEASE_SECONDS * 1000, LEASE_SECONDS * 1000 + 1500) : rng.between(0, 1500));
          const confirmed = await confirm();
          if (!confirmed) {
            await release(); // unsure whether the confirm applied: give the servers back
          } else if (confirmed.status === 200 && plan === 'confirm-release') {
            await sleep(rng.between(200, 3000));
            if (ctx.protocol.renew && rng.chance(0.3)) await untilAnswered(own, { client, op: 'renew', claimId }, { attempts: 4 });
            await release();
          } else if (confirmed.status === 200 && plan === 'confirm-keep') {
            stats.kept++;
          }
          break;
        }
      }
      await sleep(rng.between(...options.thinkMs));
    }
  };

  await Promise.all(Array.from({ length: options.claimers }, (_, i) => claimer(i)));
  return stats;
}
