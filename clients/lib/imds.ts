export interface InterruptionNotice {
  kind: 'spot-interruption' | 'rebalance-recommendation';
  /** When the instance will be stopped/terminated (Spot) or when the recommendation was made. */
  time?: string;
  /** Spot: `terminate`, `stop` or `hibernate`. */
  action?: string;
}

export interface InstanceMetadataOptions {
  /** Default http://169.254.169.254; tests and demos point it at a local fake. */
  baseUrl?: string;
  tokenTtlSeconds?: number;
  /** Per request (default 2 s: the endpoint is link-local, a slow answer means it is not there). */
  timeoutMs?: number;
  clock?: () => number;
}

export class InstanceMetadataError extends Error {
  override name = 'InstanceMetadataError';
}

export const DEFAULT_IMDS_URL = 'http://169.254.169.254';

/**
 * EC2 instance metadata, IMDSv2 only: a session token from `PUT /latest/api/token`, sent with
 * every read; a 401 (token expired or revoked) gets a new token once. 404 means "not there"
 * (no interruption notice), which is the normal answer.
 */
export class InstanceMetadataClient {
  private token?: { value: string; expiresAt: number };
  private readonly baseUrl: string;
  private readonly tokenTtlSeconds: number;
  private readonly timeoutMs: number;
  private readonly clock: () => number;

  constructor(options: InstanceMetadataOptions = {}) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_IMDS_URL).replace(/\/+$/, '');
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 21_600;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.clock = options.clock ?? Date.now;
  }

  /** A metadata value (`instance-id`, `spot/instance-action`, ...), or undefined when absent (404). */
  async get(path: string): Promise<string | undefined> {
    for (let attempt = 1; attempt <= 2; attempt++) {
      const token = await this.sessionToken(attempt > 1);
      const response = await this.request(`/latest/meta-data/${path}`, { method: 'GET', headers: { 'X-aws-ec2-metadata-token': token } });
      if (response.status === 200) return response.text();
      await response.body?.cancel();
      if (response.status === 404) return undefined;
      if (response.status === 401 && attempt === 1) continue;
      throw new InstanceMetadataError(`GET ${path}: HTTP ${response.status}`);
    }
    throw new InstanceMetadataError(`GET ${path}: token refused`);
  }

  /**
   * The first interruption signal present: a Spot interruption notice (`spot/instance-action`,
   * two minutes before the instance goes) or else a rebalance recommendation
   * (`events/recommendations/rebalance`, an elevated risk of interruption). Undefined: neither.
   */
  async checkInterruption(): Promise<InterruptionNotice | undefined> {
    const action = await this.get('spot/instance-action');
    if (action !== undefined) {
      const parsed = parseJson(action) as { action?: unknown; time?: unknown } | undefined;
      return {
        kind: 'spot-interruption',
        ...(typeof parsed?.action === 'string' ? { action: parsed.action } : {}),
        ...(typeof parsed?.time === 'string' ? { time: parsed.time } : {}),
      };
    }
    const rebalance = await this.get('events/recommendations/rebalance');
    if (rebalance !== undefined) {
      const parsed = parseJson(rebalance) as { noticeTime?: unknown } | undefined;
      return { kind: 'rebalance-recommendation', ...(typeof parsed?.noticeTime === 'string' ? { time: parsed.noticeTime } : {}) };
    }
    return undefined;
  }

  private async sessionToken(renew: boolean): Promise<string> {
    if (!renew && this.token && this.token.expiresAt > this.clock()) return this.token.value;
    const response = await this.request('/latest/api/token', {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(this.tokenTtlSeconds) },
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new InstanceMetadataError(`PUT /latest/api/token: HTTP ${response.status}`);
    }
    const value = (await response.text()).trim();
    // Renew a minute early, so that a token never expires between the check and the read.
    this.token = { value, expiresAt: this.clock() + Math.max(1, this.tokenTtlSeconds - 60) * 1000 };
    return value;
  }

  private async request(path: string, init: { method: string; headers: Record<string, string> }): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new InstanceMetadataError(`${init.method} ${path}: ${(error as Error).message}`, { cause: error });
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface InterruptionMonitorOptions {
  imds: InstanceMetadataClient;
  intervalMs: number;
  /** Called once, with the first notice seen. */
  onNotice: (notice: InterruptionNotice) => void | Promise<void>;
  /** Called when a check fails (metadata unreachable); the monitor keeps polling. */
  onError?: (error: unknown, consecutiveFailures: number) => void;
}

/**
 * Polls the metadata endpoints every `intervalMs` until the first notice, which it reports once.
 * A failing check never stops it (off EC2, or while the metadata service hiccups).
 */
export class InterruptionMonitor {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private failures = 0;
  private noticed?: InterruptionNotice;

  constructor(private readonly options: InterruptionMonitorOptions) {}

  get notice(): InterruptionNotice | undefined {
    return this.noticed;
  }

  /** Checks now, then every interval. */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One check; resolves with the notice (also when it was seen before). */
  async check(): Promise<InterruptionNotice | undefined> {
    if (this.noticed) return this.noticed;
    try {
      const notice = await this.options.imds.checkInterruption();
      this.failures = 0;
      if (notice && !this.noticed) {
        this.noticed = notice;
        await this.options.onNotice(notice);
      }
      return this.noticed;
    } catch (error) {
      this.failures++;
      this.options.onError?.(error, this.failures);
      return undefined;
    }
  }

  private async tick(): Promise<void> {
    await this.check();
    if (this.stopped || this.noticed) return;
    this.timer = setTimeout(() => void this.tick(), this.options.intervalMs);
  }
}
