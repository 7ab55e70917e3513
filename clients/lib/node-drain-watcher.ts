import type { NodeDrainReason, NodeEventName } from '../../schemas/messages';
import { EventSequence, nodeMessage, type NodeIdentity } from './events';
import type { InstanceMetadataClient, InterruptionNotice } from './imds';
import { describeError, silentLogger, type AgentLogger } from './log';
import type { EventSender, SendResult } from './sender';

export interface NodeDrainWatcherOptions {
  identity: NodeIdentity;
  sender: EventSender;
  imds: InstanceMetadataClient;
  /** Time between metadata checks (default 5 s; a Spot notice comes two minutes ahead). */
  pollIntervalMs?: number;
  /**
   * Time between repetitions of the node's state (default 60 s). Repeating keeps the node record
   * alive, heals a lost or late message, and re-applies a drain to servers that registered while
   * it was being applied.
   */
  announceIntervalMs?: number;
  logger?: AgentLogger;
  clock?: () => number;
}

const reasonOf = (notice: InterruptionNotice): NodeDrainReason => notice.kind;

/**
 * Watches one node's instance metadata (run once per node, as a DaemonSet) and reports the node:
 * on start `ready` (or `draining` if a notice is already there: a restarted watcher must not
 * un-drain its node), `draining` as soon as a Spot interruption notice or a rebalance
 * recommendation appears, and the current state again every announce interval. Never throws
 * after construction.
 */
export class NodeDrainWatcher {
  private readonly sequence: EventSequence;
  private readonly logger: AgentLogger;
  private state: NodeEventName = 'ready';
  private reason?: NodeDrainReason;
  private pollTimer?: NodeJS.Timeout;
  private announceTimer?: NodeJS.Timeout;
  private running = false;
  private failures = 0;
  readonly stats = { sent: 0, failed: 0 };

  constructor(private readonly options: NodeDrainWatcherOptions) {
    this.sequence = new EventSequence(options.clock);
    this.logger = options.logger ?? silentLogger;
    nodeMessage(options.identity, 'ready', { seq: 1, sentAt: 0 }); // validates the identity
  }

  get current(): { state: NodeEventName; reason?: NodeDrainReason } {
    return { state: this.state, ...(this.reason ? { reason: this.reason } : {}) };
  }

  /** First check, first announcement, then the polling and announcing loops. */
  async start(): Promise<SendResult> {
    this.running = true;
    await this.check();
    const result = await this.announce();
    this.schedulePoll();
    this.scheduleAnnounce();
    return result;
  }

  stop(): void {
    this.running = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.announceTimer) clearTimeout(this.announceTimer);
  }

  /** One metadata check; on a new notice the node turns draining and says so at once. */
  async check(): Promise<InterruptionNotice | undefined> {
    try {
      const notice = await this.options.imds.checkInterruption();
      this.failures = 0;
      if (notice && this.state !== 'draining') {
        this.state = 'draining';
        this.reason = reasonOf(notice);
        this.logger.warn('interruption notice', { kind: notice.kind, ...(notice.time ? { at: notice.time } : {}) });
        if (this.running) await this.announce();
      }
      return notice;
    } catch (error) {
      this.failures++;
      if (this.failures === 1 || this.failures % 60 === 0) {
        this.logger.warn('instance metadata unreachable', { failures: this.failures, error: describeError(error) });
      }
      return undefined;
    }
  }

  private announce(): Promise<SendResult> {
    return this.send(this.state, this.reason);
  }

  private schedulePoll(): void {
    this.pollTimer = setTimeout(async () => {
      if (!this.running) return;
      await this.check();
      if (this.running) this.schedulePoll();
    }, this.options.pollIntervalMs ?? 5000);
  }

  private scheduleAnnounce(): void {
    this.announceTimer = setTimeout(async () => {
      if (!this.running) return;
      await this.announce();
      if (this.running) this.scheduleAnnounce();
    }, this.options.announceIntervalMs ?? 60_000);
  }

  private async send(event: NodeEventName, reason?: NodeDrainReason): Promise<SendResult> {
    try {
      const message = nodeMessage(this.options.identity, event, this.sequence.next(), reason);
      const result = await this.options.sender.send(message, { maxAttempts: 8 });
      if (result.ok) {
        this.stats.sent++;
        this.logger.info('node state sent', { event, seq: message.seq, ...(reason ? { reason } : {}) });
      } else {
        this.stats.failed++;
      }
      return result;
    } catch (error) {
      this.stats.failed++;
      this.logger.error('node state not sent', { event, error: describeError(error) });
      return { ok: false, attempts: 0, error: describeError(error) };
    }
  }
}

/** Sends one node event by hand (an operator draining or un-draining a node). */
export async function sendNodeEvent(
  sender: EventSender,
  identity: NodeIdentity,
  event: NodeEventName,
  reason?: NodeDrainReason,
  clock: () => number = Date.now,
): Promise<SendResult> {
  return sender.send(nodeMessage(identity, event, new EventSequence(clock).next(), reason), { maxAttempts: 8 });
}
