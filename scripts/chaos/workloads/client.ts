import { isRetryable, type ApiCall, type ChaosApi } from '../history';
import { sleep } from '../../../lib/backoff';
import { type Rng } from '../../../testkit/rng';
import type { HistoryEntry } from '../types';

/** What the API under test supports (probed at start: the contract is being finalised). */
export interface Protocol {
  /** `holdSeconds` on claims and confirmed holds that run out. */
  holds: boolean;
  /** `POST /claims/{id}/renew`. */
  renew: boolean;
  /** `holdSeconds` on set-gs-busy. */
  busyHold: boolean;
}

export interface ClientContext {
  api: ChaosApi;
  rng: Rng;
  seed: number;
  protocol: Protocol;
  /** Clients start nothing new after this. */
  deadline: number;
}

/**
 * Sends a request until it gets an answer that is not worth repeating: on a timeout, a
 * connection error, 503 (or 500, or claim.pending) the very same request goes again, to a random
 * instance, after a jittered backoff. With `fanout` > 1 the first try goes to that many instances
 * at once (a client that does not wait for its first request before retrying elsewhere).
 * Returns the deciding answer (a 200 wins over anything else), or undefined when every try was
 * inconclusive: the request may or may not have been applied.
 */
export async function untilAnswered(ctx: ClientContext, call: ApiCall, options: { attempts: number; fanout?: number }): Promise<HistoryEntry | undefined> {
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    const fanout = attempt === 1 ? Math.min(options.fanout ?? 1, ctx.api.instances) : 1;
    let entries: HistoryEntry[];
    if (fanout > 1) {
      const instances = ctx.rng.shuffle([...Array(ctx.api.instances).keys()]).slice(0, fanout);
      entries = await Promise.all(instances.map((instance) => ctx.api.send({ ...call, instance })));
    } else {
      entries = [await ctx.api.send(call)];
    }
    const decided = entries.find((e) => e.status === 200) ?? entries.find((e) => !isRetryable(e));
    if (decided) return decided;
    await sleep(Math.min(1500, 100 * 2 ** attempt) * ctx.rng.between(0.5, 1.5));
  }
  return undefined;
}
