import type { ClientOp, HistoryEntry } from './types';

/** Every request the workloads send and what came back (or did not). */
export class History {
  readonly entries: HistoryEntry[] = [];
  private nextId = 1;

  add(entry: Omit<HistoryEntry, 'id'>): HistoryEntry {
    const recorded = { id: this.nextId++, ...entry };
    this.entries.push(recorded);
    return recorded;
  }

  /** Answers by status (`200`, `503`, `timeout`, ...). */
  countByStatus(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const entry of this.entries) counts[String(entry.status)] = (counts[String(entry.status)] ?? 0) + 1;
    return counts;
  }

  /** Error answers by status and code: `{ '409 gs.none_available': 12 }`. */
  countByCode(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const entry of this.entries) {
      const code = errorCode(entry);
      if (code) counts[`${entry.status} ${code}`] = (counts[`${entry.status} ${code}`] ?? 0) + 1;
    }
    return counts;
  }

  /** Answers by operation and status: `{ claim: { 200: 10, 409: 3 } }`. */
  countByOp(): Record<string, Record<string, number>> {
    const counts: Record<string, Record<string, number>> = {};
    for (const entry of this.entries) {
      const op = (counts[entry.op] ??= {});
      op[String(entry.status)] = (op[String(entry.status)] ?? 0) + 1;
    }
    return counts;
  }
}

export interface ApiCall {
  client: string;
  op: ClientOp;
  claimId: string;
  endpoint?: string;
  body?: Record<string, unknown>;
  /** Which API instance; default: a random one. */
  instance?: number;
}

/** The error code of an error answer (`{error:{code}}`), if any. */
export function errorCode(entry: HistoryEntry): string | undefined {
  const body = entry.body as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : undefined;
}

/** An answer after which the same request should simply be sent again. */
export function isRetryable(entry: HistoryEntry): boolean {
  return entry.status === 'timeout' || entry.status === 'error' || entry.status === 503 || entry.status === 500 || errorCode(entry) === 'claim.pending';
}

const PATHS: Record<ClientOp, (call: ApiCall) => string> = {
  claim: () => '/claim-gs',
  confirm: (c) => `/claims/${encodeURIComponent(c.claimId)}/confirm`,
  renew: (c) => `/claims/${encodeURIComponent(c.claimId)}/renew`,
  release: (c) => `/claims/${encodeURIComponent(c.claimId)}/release`,
  'set-busy': (c) => `/set-gs-busy/${encodeURIComponent(c.endpoint ?? '')}`,
  'set-available': (c) => `/set-gs-available/${encodeURIComponent(c.endpoint ?? '')}`,
};

/**
 * Real HTTP (fetch) to the API instances, each request recorded in the history with its start and
 * end on this process's clock. A request that takes longer than `timeoutMs` is abandoned
 * (recorded as `timeout`); it may still complete on the server.
 */
export class ChaosApi {
  constructor(
    private readonly urls: string[],
    private readonly apiKey: string,
    private readonly history: History,
    private readonly timeoutMs: number,
    private readonly random: () => number,
  ) {}

  get instances(): number {
    return this.urls.length;
  }

  async send(call: ApiCall): Promise<HistoryEntry> {
    const instance = call.instance ?? Math.floor(this.random() * this.urls.length);
    const url = `${this.urls[instance]}${PATHS[call.op](call)}`;
    const start = Date.now();
    let status: HistoryEntry['status'];
    let body: unknown;
    let error: string | undefined;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(call.body ?? {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      const text = await response.text();
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
    } catch (caught) {
      const failure = caught as Error & { cause?: { code?: string } };
      status = failure.name === 'TimeoutError' || failure.name === 'AbortError' ? 'timeout' : 'error';
      error = failure.cause?.code ?? failure.message;
    }
    return this.history.add({
      client: call.client,
      instance,
      op: call.op,
      claimId: call.claimId,
      ...(call.endpoint !== undefined ? { endpoint: call.endpoint } : {}),
      ...(call.body !== undefined ? { request: call.body } : {}),
      start,
      end: Date.now(),
      status,
      ...(body !== undefined ? { body } : {}),
      ...(error !== undefined ? { error } : {}),
    });
  }
}
