import type { Claim, GameServer } from '../../schemas/http';
import type { InventoryApiClient, ApiResult, ClaimRequest, ReplaceRequest } from './api-client';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff';
import { EventSequence, loadBalancerMessage, type LoadBalancerIdentity } from './events';
import { describeError, silentLogger, type AgentLogger } from './log';
import { renderStreamConfig, writeFileAtomic, type StreamConfigView } from './nginx-config';
import type { EventSender, SendResult } from './sender';

/** What the load balancer asks for: the claim request's fields (distinctNodes defaults to count > 1). */
export interface LoadBalancerClaimOptions extends Pick<ClaimRequest, 'region' | 'group' | 'labels' | 'distinctNodes' | 'leaseSeconds'> {
  api: InventoryApiClient;
  /** The pod's identity (Kubernetes pod UID): the claim id derives from it. */
  podUid: string;
  count: number;
  /** Give up (exit non-zero, Kubernetes restarts the pod) this long after the first attempt. */
  deadlineMs: number;
  backoff?: BackoffPolicy;
  logger?: AgentLogger;
  clock?: () => number;
  random?: () => number;
  signal?: AbortSignal;
}

export type LoadBalancerClaimResult =
  | { ok: true; claimId: string; servers: GameServer[]; attempts: number; replayed: boolean }
  /** `fatal`: retrying cannot help (bad key, bad request); otherwise the deadline passed. */
  | { ok: false; fatal: boolean; reason: string; attempts: number };

/** How many successive claim ids a pod may use up (each a released or broken earlier claim). */
const MAX_GENERATIONS = 10;

/**
 * The claim id of a load-balancer pod: `lb-<pod uid>`, then `lb-<pod uid>-g2`, ... when an earlier
 * one was released or lost its servers. Derived from the pod's identity, so a restarted container
 * walks the same ids and gets its own servers back (claims are idempotent per id).
 */
export function loadBalancerClaimId(podUid: string, generation = 1): string {
  const base = `lb-${podUid.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 100)}`;
  return generation > 1 ? `${base}-g${generation}` : base;
}

/** A server is usable while the claim still holds it (busy or claimed) and it heartbeats. */
export function isUsable(server: GameServer, claimId: string): boolean {
  return (server.status === 'busy' || server.status === 'claimed') && server.claimId === claimId && !server.stale;
}

function unusableServers(claim: Claim): GameServer[] {
  return claim.servers.filter((s) => !isUsable(s, claim.claimId));
}

const RETRYABLE = (result: Extract<ApiResult<unknown>, { ok: false }>) =>
  result.status === 0 || result.status === 409 || result.status === 429 || result.status >= 500;

/**
 * Claims `count` servers with one `POST /claim-gs` and confirms the claim (its servers become
 * busy: no lease to run out while nginx uses them). When not enough servers are available (or the
 * API is unreachable, throttled, failing) it retries with exponential backoff and full jitter until
 * the deadline, then reports why. A replayed claim (a restarted pod) is reused if its servers are
 * still ours; a released one, or one that lost servers (drained, stale, gone), is released and the
 * next claim id is used.
 */
export async function claimServersForLoadBalancer(options: LoadBalancerClaimOptions): Promise<LoadBalancerClaimResult> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? Date.now;
  const backoff = options.backoff ?? { baseMs: 1000, maxMs: 15_000 };
  const deadline = clock() + options.deadlineMs;
  let generation = 1;
  let attempts = 0;
  let lastReason = 'no attempt made';

  const abandon = async (claimId: string, why: string) => {
    logger.warn('claim abandoned', { claimId, why });
    const released = await options.api.release(claimId);
    if (!released.ok && released.status !== 404) logger.warn('claim not released', { claimId, error: released.message });
    generation++;
  };

  while (generation <= MAX_GENERATIONS) {
    if (options.signal?.aborted) return { ok: false, fatal: true, reason: 'stopped', attempts };
    attempts++;
    const claimId = loadBalancerClaimId(options.podUid, generation);
    const claimed = await options.api.claim({
      claimId,
      count: options.count,
      ...(options.region !== undefined ? { region: options.region } : {}),
      ...(options.group !== undefined ? { group: options.group } : {}),
      ...(options.labels !== undefined ? { labels: options.labels } : {}),
      distinctNodes: options.distinctNodes ?? options.count > 1,
      ...(options.leaseSeconds !== undefined ? { leaseSeconds: options.leaseSeconds } : {}),
    });

    let failure: Extract<ApiResult<unknown>, { ok: false }> | undefined;
    if (claimed.ok) {
      const claim = claimed.body;
      if (claim.status === 'released') {
        await abandon(claimId, 'released earlier');
        continue;
      }
      if (claim.status === 'confirmed') {
        const lost = unusableServers(claim);
        if (lost.length === 0) return { ok: true, claimId, servers: claim.servers, attempts, replayed: claimed.body.replayed };
        await abandon(claimId, `servers no longer usable: ${lost.map((s) => `${s.endpoint} (${s.stale ? 'stale' : s.status})`).join(', ')}`);
        continue;
      }
      const confirmed = await options.api.confirm(claimId);
      if (confirmed.ok) return { ok: true, claimId, servers: confirmed.body.servers, attempts, replayed: claimed.body.replayed };
      if (confirmed.code === 'claim.lost' || confirmed.code === 'claim.released') {
        await abandon(claimId, confirmed.message);
        continue;
      }
      failure = confirmed;
    } else if (claimed.code === 'claim.mismatch') {
      // An earlier run of this pod asked for something else (its configuration changed).
      await abandon(claimId, claimed.message);
      continue;
    } else {
      failure = claimed;
    }

    lastReason = `${failure.code}: ${failure.message}`;
    if (!RETRYABLE(failure)) return { ok: false, fatal: true, reason: `HTTP ${failure.status} ${lastReason}`, attempts };
    const delay = backoffDelay(attempts, backoff, options.random);
    const remaining = deadline - clock();
    if (remaining <= 0 || delay > remaining) {
      return { ok: false, fatal: false, reason: `gave up after ${attempts} attempts in ${Math.round(options.deadlineMs / 1000)} s; last answer ${lastReason}`, attempts };
    }
    logger.info('claim not possible yet, retrying', { claimId, attempt: attempts, reason: lastReason, retryInMs: delay });
    await sleep(delay, options.signal);
  }
  return { ok: false, fatal: true, reason: `used up ${MAX_GENERATIONS} claim ids; last: ${lastReason}`, attempts };
}

export interface RenderOptions extends Omit<StreamConfigView, 'servers' | 'claimId'> {
  /** Send to each server's private endpoint (default) or its public one. */
  upstreamAddress?: 'endpoint' | 'publicEndpoint';
  template?: string;
}

/** The nginx stream config for a claim, and the upstream addresses in it. */
export function renderForClaim(claimId: string, servers: GameServer[], options: RenderOptions): { config: string; targets: string[] } {
  const view: StreamConfigView = {
    claimId,
    upstreamName: options.upstreamName,
    listen: options.listen,
    proxyTimeout: options.proxyTimeout,
    maxFails: options.maxFails,
    failTimeout: options.failTimeout,
    servers: servers.map((s) => ({
      address: options.upstreamAddress === 'publicEndpoint' ? (s.publicEndpoint ?? s.endpoint) : s.endpoint,
      endpoint: s.endpoint,
      ...(s.publicEndpoint !== undefined ? { publicEndpoint: s.publicEndpoint } : {}),
      node: s.node,
      region: s.region,
    })),
  };
  return { config: renderStreamConfig(view, options.template), targets: view.servers.map((s) => s.address) };
}

export interface LoadBalancerReporterOptions {
  identity: LoadBalancerIdentity;
  sender: EventSender;
  heartbeatIntervalMs: number;
  logger?: AgentLogger;
  clock?: () => number;
}

/**
 * Reports a load balancer's lifecycle: `ready` with its targets, heartbeats (which keep it in
 * GET /get-available-lb), `terminating` at the end. Never throws.
 */
export class LoadBalancerReporter {
  private readonly sequence: EventSequence;
  private readonly logger: AgentLogger;
  private timer?: NodeJS.Timeout;
  private targets: string[] = [];
  private running = false;

  constructor(private readonly options: LoadBalancerReporterOptions) {
    this.sequence = new EventSequence(options.clock);
    this.logger = options.logger ?? silentLogger;
    loadBalancerMessage(options.identity, 'ready', { seq: 1, sentAt: 0 }, []); // validates the identity
  }

  /** New upstreams (a server left): reported at once, and by every heartbeat after. */
  async updateTargets(targets: string[]): Promise<SendResult | undefined> {
    this.targets = targets;
    if (!this.running) return undefined;
    return this.send('heartbeat');
  }

  async start(targets: string[]): Promise<SendResult> {
    this.targets = targets;
    this.running = true;
    const result = await this.send('ready', 8);
    this.schedule();
    return result;
  }

  async terminate(signal?: AbortSignal): Promise<SendResult | undefined> {
    if (!this.running) return undefined;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    return this.send('terminating', 8, signal);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    this.timer = setTimeout(async () => {
      if (!this.running) return;
      await this.send('heartbeat');
      if (this.running) this.schedule();
    }, this.options.heartbeatIntervalMs);
  }

  private async send(event: 'ready' | 'heartbeat' | 'terminating', maxAttempts?: number, signal?: AbortSignal): Promise<SendResult> {
    try {
      const message = loadBalancerMessage(this.options.identity, event, this.sequence.next(), this.targets);
      const result = await this.options.sender.send(message, { ...(maxAttempts ? { maxAttempts } : {}), ...(signal ? { signal } : {}) });
      if (result.ok) this.logger[event === 'heartbeat' ? 'debug' : 'info']('event sent', { event, seq: message.seq });
      return result;
    } catch (error) {
      this.logger.error('event not sent', { event, error: describeError(error) });
      return { ok: false, attempts: 0, error: describeError(error) };
    }
  }
}

/** How the watcher replaces the claim's lost servers (POST /claims/{claimId}/replace). */
export interface LostServerReplacement {
  /** What a replacement must match: the load balancer's own region, group and labels. */
  request: Omit<ReplaceRequest, 'lost'>;
  /** Waits between attempts for one lost server (none available, throttled, unreachable). */
  backoff: BackoffPolicy;
  random?: () => number;
  /** Called after each replacement (the claim's servers change with the next onChange). */
  onReplaced?: (lost: GameServer, replacement: string) => void;
}

export interface ClaimWatcherOptions {
  api: InventoryApiClient;
  claimId: string;
  /** The servers the config was rendered with. */
  servers: GameServer[];
  intervalMs: number;
  /** Called when the usable servers differ from the current ones (never with an empty list). */
  onChange: (usable: GameServer[], lost: GameServer[]) => Promise<void>;
  /** Called when no server of the claim is usable any more (and none could be replaced). */
  onAllLost: (lost: GameServer[]) => void;
  /** Replace lost servers instead of only dropping them (absent: only drop them). */
  replaceLost?: LostServerReplacement;
  logger?: AgentLogger;
  clock?: () => number;
}

/** Why a server of the claim is not usable, for the log. */
const describeLost = (server: GameServer) => `${server.endpoint} (${server.stale ? 'stale' : server.claimId === undefined && (server.status === 'claimed' || server.status === 'busy') ? 'taken' : server.status})`;

/** Answers after which asking again for the same lost server can help (later: another server may be free). */
const REPLACE_RETRYABLE = (result: Extract<ApiResult<unknown>, { ok: false }>) =>
  result.status === 0 || result.code === 'gs.none_available' || result.status === 429 || result.status >= 500;

/**
 * Follows a load balancer's claim (GET /claims/{id}: one request for all its servers) and reports
 * when servers stop being usable (terminating, draining, stale, gone) or become usable again, so
 * that nginx stops opening sessions to a server that is going away while it still serves its
 * players. nginx's passive checks do not catch a dead UDP upstream (an ICMP "port unreachable"
 * does not count as a failure), so this is what keeps new sessions on the live servers.
 */
export class ClaimWatcher {
  private timer?: NodeJS.Timeout;
  private running = false;
  private current: string[];
  private readonly logger: AgentLogger;
  /** Per lost server: failed replace attempts so far and when the next may go. */
  private readonly replaceRetries = new Map<string, { attempts: number; nextAt: number }>();

  constructor(private readonly options: ClaimWatcherOptions) {
    this.current = options.servers.map((s) => s.endpoint);
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * One look at the claim. A confirmed claim holds its servers only until its hold runs out: once
   * half of the hold has passed, the watcher renews it (a load balancer keeps its servers for as
   * long as it lives; a pod that dies stops renewing, and its servers come back by themselves).
   * With `replaceLost`, each server that is not usable is replaced first (when its backoff allows),
   * so that one change of the config drops it and adds its replacement; one that cannot be
   * replaced yet is dropped at once and replaced on a later look.
   */
  async check(): Promise<void> {
    let claim = await this.options.api.getClaim(this.options.claimId);
    if (!claim.ok) {
      this.logger.warn('claim not readable', { claimId: this.options.claimId, status: claim.status, error: claim.message });
      return;
    }
    const now = (this.options.clock ?? Date.now)();
    const holdEnd = claim.body.holdExpiresAt ? Date.parse(claim.body.holdExpiresAt) : undefined;
    if (claim.body.status === 'confirmed' && holdEnd !== undefined && holdEnd - now < (claim.body.holdSeconds * 1000) / 2) {
      const renewed = await this.options.api.renew(this.options.claimId);
      if (renewed.ok) claim = renewed;
      else this.logger.warn('claim not renewed', { claimId: this.options.claimId, status: renewed.status, error: renewed.message });
    }
    const servers = this.options.replaceLost && claim.body.status !== 'released' ? await this.replaceLost(claim.body.servers, now) : claim.body.servers;
    const usable = servers.filter((s) => isUsable(s, this.options.claimId));
    const lost = servers.filter((s) => !isUsable(s, this.options.claimId));
    const endpoints = usable.map((s) => s.endpoint);
    if (endpoints.join(' ') === this.current.join(' ')) return;
    if (usable.length === 0) {
      this.logger.error('every claimed server is gone', { lost: lost.map(describeLost) });
      this.stop();
      this.options.onAllLost(lost);
      return;
    }
    this.logger.warn('claimed servers changed', { usable: endpoints, lost: lost.map(describeLost) });
    this.current = endpoints;
    await this.options.onChange(usable, lost);
  }

  /**
   * Asks the API to replace each server of the claim that is not usable, one request per lost
   * server, each with its own backoff after an answer that may change later (none available,
   * throttled, 5xx, no answer) or that it cannot act on. Never throws: a failed request leaves the
   * server lost until the next look. Returns the claim's servers after the replacements.
   */
  private async replaceLost(servers: GameServer[], now: number): Promise<GameServer[]> {
    const replacement = this.options.replaceLost!;
    const claimId = this.options.claimId;
    let current = servers;
    for (const lost of servers.filter((s) => !isUsable(s, claimId))) {
      const retry = this.replaceRetries.get(lost.endpoint);
      if (retry && retry.nextAt > now) continue;
      const result = await this.options.api.replace(claimId, { ...replacement.request, lost: lost.endpoint });
      if (result.ok) {
        this.replaceRetries.delete(lost.endpoint);
        const { replacement: added } = result.body.replaced;
        this.logger.warn('claimed server replaced', { claimId, lost: describeLost(lost), replacement: added, replayed: result.body.replayed });
        replacement.onReplaced?.(lost, added);
        current = result.body.servers;
        continue;
      }
      if (result.code === 'claim.server_not_lost') {
        // Usable again by the time the API looked (a heartbeat arrived): the next look sees it.
        this.replaceRetries.delete(lost.endpoint);
        continue;
      }
      const attempts = (retry?.attempts ?? 0) + 1;
      const delay = REPLACE_RETRYABLE(result)
        ? Math.max(backoffDelay(attempts, replacement.backoff, replacement.random), (result.retryAfterSeconds ?? 0) * 1000)
        : replacement.backoff.maxMs;
      this.replaceRetries.set(lost.endpoint, { attempts, nextAt: now + delay });
      this.logger[REPLACE_RETRYABLE(result) ? 'info' : 'warn']('claimed server not replaced yet', {
        claimId,
        lost: describeLost(lost),
        status: result.status,
        code: result.code,
        error: result.message,
        retryInMs: delay,
      });
    }
    const inClaim = new Set(current.map((s) => s.endpoint));
    for (const endpoint of this.replaceRetries.keys()) if (!inClaim.has(endpoint)) this.replaceRetries.delete(endpoint);
    return current;
  }

  private schedule(): void {
    this.timer = setTimeout(async () => {
      if (!this.running) return;
      try {
        await this.check();
      } catch (error) {
        this.logger.error('claim check failed', { error: describeError(error) });
      }
      if (this.running) this.schedule();
    }, this.options.intervalMs);
  }
}
