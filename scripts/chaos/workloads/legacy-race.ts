import { LEASE_SECONDS, LONG_HOLD_SECONDS } from '../profiles';
import { sleep } from '../../../lib/backoff';
import type { StatusQueue } from '../status-queue';
import { untilAnswered, type ClientContext } from './client';
import { LEGACY_REGION, type LegacyServer } from './fleet';

export interface LegacyRaceOptions {
  servers: LegacyServer[];
  queue: StatusQueue;
  start: number;
}

/**
 * The replaced sample's classic bug, on purpose: a copy of a legacy server's `init` is sent
 * (delayed, so it arrives late), then the server is claimed and kept (claim-gs + confirm on its
 * own group, or set-gs-busy). The copy was sent before the claim, so it must not undo it. Every
 * third server then really restarts (a new `init` sent after the claim): that one may drop it.
 */
export async function runLegacyRaces(ctx: ClientContext, options: LegacyRaceOptions): Promise<{ scenarios: number; claimed: number; restarts: number }> {
  const stats = { scenarios: 0, claimed: 0, restarts: 0 };
  const span = ctx.deadline - options.start;
  await Promise.all(
    options.servers.map(async (server, i) => {
      const rng = ctx.rng.fork(2000 + i);
      await sleep(options.start + span * rng.between(0.1, 0.5) - Date.now());
      const delaySeconds = rng.int(3, 4);
      await options.queue.send([{ body: server.initBody, format: 'legacy', endpoint: server.endpoint, reason: 'init-copy', delaySeconds }]);
      const copySent = Date.now();
      stats.scenarios++;
      await sleep(200); // the claim request starts strictly after the copy's SentTimestamp
      const client = `legacy-race-${i}`;
      let held = false;
      if (i % 2 === 0) {
        const claimId = `lr${ctx.seed}-${i}`;
        const body = {
          claimId,
          count: 1,
          region: LEGACY_REGION,
          group: server.group,
          leaseSeconds: LEASE_SECONDS,
          ...(ctx.protocol.holds ? { holdSeconds: LONG_HOLD_SECONDS } : {}),
        };
        const claimed = await untilAnswered(ctx, { client, op: 'claim', claimId, body }, { attempts: 8 });
        if (claimed?.status === 200) {
          const confirmed = await untilAnswered(ctx, { client, op: 'confirm', claimId }, { attempts: 8 });
          held = confirmed?.status === 200;
          if (!confirmed) await untilAnswered(ctx, { client, op: 'release', claimId }, { attempts: 10 });
        }
      } else {
        const claimId = `lrb${ctx.seed}-${i}`;
        const body = { claimId, ...(ctx.protocol.busyHold ? { holdSeconds: LONG_HOLD_SECONDS } : {}) };
        const busy = await untilAnswered(ctx, { client, op: 'set-busy', claimId, endpoint: server.endpoint, body }, { attempts: 8 });
        held = busy?.status === 200;
        if (!busy) await untilAnswered(ctx, { client, op: 'set-available', claimId, endpoint: server.endpoint, body: { claimId } }, { attempts: 10 });
      }
      if (held) stats.claimed++;
      if (i % 3 === 2) {
        // After the copy has surely arrived: a genuinely new pod, which may drop the claim.
        await sleep(copySent + delaySeconds * 1000 + 1500 - Date.now());
        await options.queue.send([{ body: server.initBody, format: 'legacy', endpoint: server.endpoint, reason: 'restart' }]);
        stats.restarts++;
      }
    }),
  );
  return stats;
}
