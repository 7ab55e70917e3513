import type { LifecycleEventName } from '../../schemas/messages';
import { EventSequence, gameServerMessage, type GameServerIdentity } from './events';
import { InterruptionMonitor, type InstanceMetadataClient, type InterruptionNotice } from './imds';
import { describeError, silentLogger, type AgentLogger } from './log';
import type { EventSender, SendResult } from './sender';

export interface GameServerAgentOptions {
  identity: GameServerIdentity;
  sender: EventSender;
  /** Time between heartbeats (they must come well within the inventory's heartbeat timeout). */
  heartbeatIntervalMs: number;
  /** Current player count, sent with each heartbeat (undefined or a failure: not sent). */
  players?: () => number | undefined | Promise<number | undefined>;
  /** Watch the instance metadata for Spot interruption notices and rebalance recommendations. */
  imds?: InstanceMetadataClient;
  interruptionPollMs?: number;
  logger?: AgentLogger;
  clock?: () => number;
  /** Attempts for ready/draining/terminating, which matter more than one heartbeat (default 8). */
  lifecycleAttempts?: number;
}

export type AgentPhase = 'created' | 'active' | 'draining' | 'terminating' | 'stopped';

export interface AgentStats {
  sent: number;
  failed: number;
  lastEvent?: LifecycleEventName;
}

/**
 * Reports one game server's lifecycle to the status queue: `ready` on start, a `heartbeat` every
 * interval (with the player count when known), `draining` once when asked to or when the instance
 * metadata shows an interruption notice, `terminating` at the end. Events are numbered with a
 * monotonic seq. Nothing here throws after construction: failed sends are retried with backoff by
 * the sender and then given up (logged and counted), never propagated to the game.
 */
export class GameServerAgent {
  private readonly sequence: EventSequence;
  private readonly logger: AgentLogger;
  private readonly monitor?: InterruptionMonitor;
  private heartbeatTimer?: NodeJS.Timeout;
  private currentPhase: AgentPhase = 'created';
  readonly stats: AgentStats = { sent: 0, failed: 0 };

  /** Throws (a ZodError naming the field) when the identity is not a valid event description. */
  constructor(private readonly options: GameServerAgentOptions) {
    this.logger = options.logger ?? silentLogger;
    this.sequence = new EventSequence(options.clock);
    gameServerMessage(options.identity, 'ready', { seq: 1, sentAt: 0 });
    if (options.imds) {
      this.monitor = new InterruptionMonitor({
        imds: options.imds,
        intervalMs: options.interruptionPollMs ?? 5000,
        onNotice: async (notice) => {
          await this.drain(notice);
        },
        onError: (error, failures) => {
          // Once, and then rarely: off EC2 the metadata endpoint is simply not there.
          if (failures === 1 || failures % 60 === 0) this.logger.warn('instance metadata unreachable', { failures, error: describeError(error) });
        },
      });
    }
  }

  get phase(): AgentPhase {
    return this.currentPhase;
  }

  get identity(): GameServerIdentity {
    return this.options.identity;
  }

  /** Sends `ready`, then heartbeats every interval and watches for interruption notices. */
  async start(): Promise<SendResult> {
    if (this.currentPhase !== 'created') throw new Error(`agent already ${this.currentPhase}`);
    this.currentPhase = 'active';
    const result = await this.send('ready', this.options.lifecycleAttempts ?? 8, await this.readPlayers());
    // Unless terminated while `ready` was on its way.
    if (this.currentPhase === 'active' || this.currentPhase === 'draining') {
      this.scheduleHeartbeat();
      this.monitor?.start();
    }
    return result;
  }

  /**
   * Sends `draining` (once): the inventory stops offering this server; a claim on it stays
   * visible. Heartbeats go on, so the server is seen as draining rather than as gone.
   */
  async drain(reason: InterruptionNotice | { kind: 'requested' } = { kind: 'requested' }): Promise<SendResult | undefined> {
    if (this.currentPhase !== 'active') return undefined;
    this.currentPhase = 'draining';
    this.logger.info('draining', { reason: reason.kind, ...('time' in reason && reason.time ? { at: reason.time } : {}) });
    return this.send('draining', this.options.lifecycleAttempts ?? 8);
  }

  /**
   * Stops heartbeats and the metadata watch and sends `terminating` (shutting down: never offered
   * again), or `terminated` when the game has already exited. `signal` cuts the retries short.
   */
  async terminate(signal?: AbortSignal, event: 'terminating' | 'terminated' = 'terminating'): Promise<SendResult | undefined> {
    if (this.currentPhase === 'terminating' || this.currentPhase === 'stopped' || this.currentPhase === 'created') {
      this.stop();
      return undefined;
    }
    this.stopTimers();
    this.currentPhase = 'terminating';
    const result = await this.send(event, this.options.lifecycleAttempts ?? 8, undefined, signal);
    this.currentPhase = 'stopped';
    return result;
  }

  /** Stops everything without a last event. */
  stop(): void {
    this.stopTimers();
    this.currentPhase = 'stopped';
  }

  private stopTimers(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.monitor?.stop();
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = setTimeout(async () => {
      if (this.currentPhase !== 'active' && this.currentPhase !== 'draining') return;
      await this.send('heartbeat', undefined, await this.readPlayers());
      // After the send (retries included), so that heartbeats never pile up behind a slow queue.
      if (this.currentPhase === 'active' || this.currentPhase === 'draining') this.scheduleHeartbeat();
    }, this.options.heartbeatIntervalMs);
  }

  private async readPlayers(): Promise<number | undefined> {
    if (!this.options.players) return undefined;
    try {
      const players = await this.options.players();
      return Number.isSafeInteger(players) && players! >= 0 && players! <= 100_000 ? players : undefined;
    } catch (error) {
      this.logger.debug('player count unavailable', { error: describeError(error) });
      return undefined;
    }
  }

  private async send(event: LifecycleEventName, maxAttempts?: number, players?: number, signal?: AbortSignal): Promise<SendResult> {
    try {
      const message = gameServerMessage(this.options.identity, event, this.sequence.next(), players);
      const result = await this.options.sender.send(message, {
        ...(maxAttempts !== undefined ? { maxAttempts } : {}),
        ...(signal ? { signal } : {}),
      });
      if (result.ok) {
        this.stats.sent++;
        this.stats.lastEvent = event;
        this.logger[event === 'heartbeat' ? 'debug' : 'info']('event sent', { event, seq: message.seq, attempts: result.attempts });
      } else {
        this.stats.failed++;
      }
      return result;
    } catch (error) {
      // Only a bug could get here (the sender does not throw); the game must not notice.
      this.stats.failed++;
      this.logger.error('event not sent', { event, error: describeError(error) });
      return { ok: false, attempts: 0, error: describeError(error) };
    }
  }
}
