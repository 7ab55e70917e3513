import { Agent, request } from 'node:http';

export interface JsonResponse<T = any> {
  status: number;
  body: T;
}

/**
 * How long an idle keep-alive socket is kept: well under the server's keep-alive timeout, so the
 * client always closes an idle connection first. Otherwise a request sent on a socket the server
 * is closing at that moment (after a pause between runs) fails with ECONNRESET.
 */
const IDLE_SOCKET_MS = 2000;

/** A minimal keep-alive JSON client for the local HTTP server (one socket per concurrent caller). */
export function createHttpClient(baseUrl: string, options: { maxSockets: number; apiKey: string }) {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets, timeout: IDLE_SOCKET_MS });
  const base = new URL(baseUrl);
  const send = <T = any>(method: string, path: string, body?: unknown): Promise<JsonResponse<T>> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path,
          headers: {
            authorization: `Bearer ${options.apiKey}`,
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
            } catch (error) {
              reject(error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  return { send, close: () => agent.destroy() };
}

export type HttpClient = ReturnType<typeof createHttpClient>;
