import type { Protocol } from './workloads/client';

async function post(url: string, key: string, body: unknown): Promise<{ status: number; code?: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await response.json().catch(() => undefined)) as { error?: { code?: string } } | undefined;
  return { status: response.status, ...(answer?.error?.code ? { code: answer.error.code } : {}) };
}

/**
 * What the API under test supports, asked with requests that change nothing (an empty group, an
 * unknown claim, an unknown server): `holdSeconds` on claims and set-gs-busy (refused as an
 * unknown field where unsupported) and the renew route (no route: 404 route.not_found).
 */
export async function probeProtocol(apiUrl: string, key: string): Promise<Protocol> {
  const hold = await post(`${apiUrl}/claim-gs`, key, { claimId: 'chaos-probe-hold', count: 1, group: 'chaos-probe-no-such-group', leaseSeconds: 1, holdSeconds: 60 });
  const renew = await post(`${apiUrl}/claims/chaos-probe-renew/renew`, key, {});
  const busy = await post(`${apiUrl}/set-gs-busy/${encodeURIComponent('10.255.255.254:1')}`, key, { claimId: 'chaos-probe-busy', holdSeconds: 60 });
  return {
    holds: hold.status !== 400,
    renew: !(renew.status === 404 && renew.code === 'route.not_found') && renew.status !== 405,
    busyHold: busy.status !== 400,
  };
}
