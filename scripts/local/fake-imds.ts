// A stand-in for the EC2 instance metadata service (IMDSv2) on 127.0.0.1, for tests and local
// demos: several fake instances behind one server (`<url>/<instance>` is an instance's base URL),
// each of which can be given a Spot interruption notice or a rebalance recommendation.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

interface FakeInstance {
  instanceAction?: { action: string; time: string };
  rebalance?: { noticeTime: string };
  failing: boolean;
}

export interface FakeImds {
  /** Base URL of instance `name` (pass it as the clients' IMDS URL). */
  urlFor(name: string): string;
  interrupt(name: string, inSeconds?: number): void;
  recommendRebalance(name: string): void;
  clear(name: string): void;
  /** Answer 500 to everything of this instance (a metadata service outage). */
  setFailing(name: string, failing: boolean): void;
  /** Invalidate every session token (clients must fetch a new one). */
  revokeTokens(): void;
  readonly stats: { tokens: number; reads: number; unauthorized: number };
  stop(): Promise<void>;
}

const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
const TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';

export async function startFakeImds(): Promise<FakeImds> {
  const instances = new Map<string, FakeInstance>();
  let tokens = new Set<string>();
  const stats = { tokens: 0, reads: 0, unauthorized: 0 };
  const instance = (name: string) => {
    let found = instances.get(name);
    if (!found) instances.set(name, (found = { failing: false }));
    return found;
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const match = /^\/([^/]+)\/latest\/(.*)$/.exec(request.url ?? '');
    const send = (status: number, body = '') => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(body);
    };
    if (!match) return send(404);
    const [, name, path] = match as unknown as [string, string, string];
    const state = instance(name);
    if (state.failing) return send(500, 'internal error');
    if (path === 'api/token') {
      const ttl = Number(request.headers[TTL_HEADER]);
      if (request.method !== 'PUT' || !(ttl >= 1 && ttl <= 21_600)) return send(400);
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      stats.tokens++;
      return send(200, token);
    }
    if (request.method !== 'GET') return send(405);
    if (!tokens.has(String(request.headers[TOKEN_HEADER] ?? ''))) {
      stats.unauthorized++;
      return send(401);
    }
    stats.reads++;
    switch (path) {
      case 'meta-data/instance-id':
        return send(200, `i-${Buffer.from(name).toString('hex').slice(0, 17).padEnd(17, '0')}`);
      case 'meta-data/spot/instance-action':
        return state.instanceAction ? send(200, JSON.stringify(state.instanceAction)) : send(404);
      case 'meta-data/events/recommendations/rebalance':
        return state.rebalance ? send(200, JSON.stringify(state.rebalance)) : send(404);
      default:
        return send(404);
    }
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('fake IMDS did not bind');
  const url = `http://127.0.0.1:${address.port}`;

  return {
    urlFor: (name) => `${url}/${encodeURIComponent(name)}`,
    interrupt(name, inSeconds = 120) {
      instance(name).instanceAction = { action: 'terminate', time: new Date(Date.now() + inSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    },
    recommendRebalance(name) {
      instance(name).rebalance = { noticeTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
    },
    clear(name) {
      instances.set(name, { failing: false });
    },
    setFailing(name, failing) {
      instance(name).failing = failing;
    },
    revokeTokens() {
      tokens = new Set();
    },
    stats,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
