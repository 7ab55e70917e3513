import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff';
import { describeError, silentLogger, type AgentLogger } from './log';

export type SendResult = { ok: true; attempts: number; messageId: string } | { ok: false; attempts: number; error: string };

/** Where the clients put their events. Never throws: a failure is a result. */
export interface EventSender {
  send(message: { kind: string; event: string }, options?: SendOptions): Promise<SendResult>;
  close(): void;
}

export interface SendOptions {
  /** Attempts for this message (default: the sender's). */
  maxAttempts?: number;
  /** Stop retrying when this aborts (e.g. the process is shutting down). */
  signal?: AbortSignal;
}

export interface SqsSenderOptions {
  queueUrl: string;
  /** A local SQS-compatible endpoint instead of AWS. */
  endpoint?: string;
  region?: string;
  /** Static credentials (local endpoints); otherwise the SDK's default chain (IRSA on EKS). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Attempts per message, the first included (default 5). */
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  /** Per attempt (default 5 s). */
  timeoutMs?: number;
  logger?: AgentLogger;
  random?: () => number;
  /** An existing client (the simulator shares one among many agents). */
  client?: SQSClient;
}

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 5000 };

/** `https://sqs.us-west-2.amazonaws.com/123/q` -> `us-west-2`. */
export function regionOfQueueUrl(queueUrl: string): string | undefined {
  return /^https?:\/\/sqs[.-]([a-z0-9-]+)\.amazonaws\.com/.exec(queueUrl)?.[1];
}

/**
 * Sends status events to the SQS queue with bounded retries: each failed attempt (throttling,
 * network, 5xx, timeouts) is retried after an exponential backoff with full jitter, up to
 * `maxAttempts`; then the event is given up and reported as such. A pod keeps running either way:
 * heartbeats repeat the whole description, so the next one makes up for a lost one.
 */
export class SqsEventSender implements EventSender {
  private readonly client: SQSClient;
  private readonly ownsClient: boolean;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffPolicy;
  private readonly timeoutMs: number;
  private readonly logger: AgentLogger;
  private readonly random: () => number;

  constructor(private readonly options: SqsSenderOptions) {
    this.ownsClient = !options.client;
    this.client =
      options.client ??
      new SQSClient({
        region: options.region ?? regionOfQueueUrl(options.queueUrl) ?? 'us-east-1',
        // Our own retries (below) replace the SDK's, so that the policy is one and bounded.
        maxAttempts: 1,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
  }

  async send(message: { kind: string; event: string }, options: SendOptions = {}): Promise<SendResult> {
    const body = JSON.stringify(message);
    const maxAttempts = options.maxAttempts ?? this.maxAttempts;
    let lastError = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        const sent = await this.client.send(new SendMessageCommand({ QueueUrl: this.options.queueUrl, MessageBody: body }), {
          abortSignal: AbortSignal.timeout(this.timeoutMs),
        });
        return { ok: true, attempts: attempt, messageId: sent.MessageId ?? '' };
      } catch (error) {
        lastError = describeError(error);
        const giveUp = attempt === maxAttempts || options.signal?.aborted;
        this.logger.warn(giveUp ? 'event not sent' : 'event send failed, retrying', {
          kind: message.kind,
          event: message.event,
          attempt,
          error: lastError,
        });
        if (giveUp) return { ok: false, attempts: attempt, error: lastError };
        await sleep(backoffDelay(attempt, this.backoff, this.random), options.signal);
      }
    }
    return { ok: false, attempts: maxAttempts, error: lastError };
  }

  close(): void {
    if (this.ownsClient) this.client.destroy();
  }
}
