import type { Claim, ClaimRequestInput, GameServer, ReplaceResult, ReplaceServerInput } from '../../schemas/http';

export type ApiResult<T> =
  | { ok: true; status: number; body: T }
  /** status 0: no HTTP answer (network error, timeout). */
  | { ok: false; status: number; code: string; message: string; retryAfterSeconds?: number };

export interface InventoryApiOptions {
  /** e.g. https://abc.execute-api.us-west-2.amazonaws.com or http://127.0.0.1:3000 */
  baseUrl: string;
  apiKey: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

/** The body of POST /claim-gs: the server's own request schema (schemas/http.ts), as sent. */
export type ClaimRequest = ClaimRequestInput;
/** The body of POST /claims/{claimId}/replace, as sent (distinctNodes defaults to true). */
export type ReplaceRequest = ReplaceServerInput;

/** The inventory's HTTP API, as the pods call it: a Bearer API key, JSON in and out. */
export class InventoryApiClient {
  private readonly baseUrl: string;

  constructor(private readonly options: InventoryApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  claim(request: ClaimRequest): Promise<ApiResult<Claim & { replayed: boolean }>> {
    return this.call('POST', '/claim-gs', request);
  }

  confirm(claimId: string): Promise<ApiResult<Claim>> {
    return this.call('POST', `/claims/${encodeURIComponent(claimId)}/confirm`);
  }

  /** Keeps the claim alive: its lease (leased) or hold (confirmed) moves to now + seconds (default: the claim's own). */
  renew(claimId: string, seconds?: number): Promise<ApiResult<Claim>> {
    return this.call('POST', `/claims/${encodeURIComponent(claimId)}/renew`, seconds !== undefined ? { seconds } : undefined);
  }

  release(claimId: string): Promise<ApiResult<Claim & { released: string[] }>> {
    return this.call('POST', `/claims/${encodeURIComponent(claimId)}/release`);
  }

  /**
   * POST /claims/{claimId}/replace: a lost server of the claim (draining, terminated, stale, gone)
   * gives way to an available one. The answer is the claim with its new servers and the pair
   * `replaced`; repeating the call answers the same pair. 409 `gs.none_available`: retry later.
   */
  replace(claimId: string, request: ReplaceRequest): Promise<ApiResult<ReplaceResult>> {
    return this.call('POST', `/claims/${encodeURIComponent(claimId)}/replace`, request);
  }

  getClaim(claimId: string): Promise<ApiResult<Claim>> {
    return this.call('GET', `/claims/${encodeURIComponent(claimId)}`);
  }

  /** GET /get-available-gs: servers claimable now. */
  listAvailable(query: { region?: string; group?: string; limit?: number; labels?: Record<string, string> } = {}): Promise<ApiResult<{ servers: GameServer[] }>> {
    const params = new URLSearchParams();
    if (query.region) params.set('region', query.region);
    if (query.group) params.set('group', query.group);
    if (query.limit) params.set('limit', String(query.limit));
    for (const [key, value] of Object.entries(query.labels ?? {})) params.set(`label.${key}`, value);
    const search = params.toString();
    return this.call('GET', `/get-available-gs${search ? `?${search}` : ''}`);
  }

  getGameServer(endpoint: string): Promise<ApiResult<GameServer>> {
    return this.call('GET', `/gs/${encodeURIComponent(endpoint)}`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      return { ok: false, status: 0, code: 'network', message: `${method} ${path}: ${(error as Error).message}` };
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.ok) return { ok: true, status: response.status, body: parsed as T };
    const error = (parsed as { error?: { code?: string; message?: string; details?: { retryAfterSeconds?: number } } } | undefined)?.error;
    const retryAfter = Number(response.headers.get('retry-after') ?? error?.details?.retryAfterSeconds);
    return {
      ok: false,
      status: response.status,
      code: error?.code ?? `http.${response.status}`,
      message: error?.message ?? (text.slice(0, 200) || response.statusText),
      ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
    };
  }
}
