import { gzipSync } from 'node:zlib';
import type { ApiMiddleware, ApiRequest } from '../state';

/**
 * Answers this long or longer are gzipped for callers that accept it: the fleet view (about 200
 * bytes a server: 2 MB for 10,000, a twentieth of that gzipped), the OpenAPI and AsyncAPI
 * documents, the dashboard's script. Smaller ones are not worth the CPU.
 */
export const COMPRESS_MIN_BYTES = 8 * 1024;

/** Whether `Accept-Encoding` takes gzip: named (or `*`) without `q=0`. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let gzip: number | undefined;
  let any: number | undefined;
  for (const part of header.split(',')) {
    const [coding, ...parameters] = part.trim().toLowerCase().split(';');
    const q = parameters.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    const weight = q === undefined ? 1 : Number(q);
    if (coding === 'gzip' || coding === 'x-gzip') gzip = weight;
    else if (coding === '*') any = weight;
  }
  return (gzip ?? any ?? 0) > 0;
}

function compress(request: ApiRequest): void {
  const response = request.response;
  if (!response || typeof response.body !== 'string' || response.isBase64Encoded) return;
  if (Buffer.byteLength(response.body) < COMPRESS_MIN_BYTES) return;
  // The header normalizer lower-cased the request's header names.
  if (!acceptsGzip(request.event.headers?.['accept-encoding'])) return;
  response.body = gzipSync(response.body).toString('base64');
  // API Gateway (HTTP API, payload 2.0) decodes a base64 body and sends the bytes as they are.
  response.isBase64Encoded = true;
  response.headers = { ...response.headers, 'content-encoding': 'gzip', vary: 'accept-encoding' };
}

/** Gzips large answers for callers that accept it (Content-Encoding: gzip, Vary: Accept-Encoding). */
export function compressResponses(): ApiMiddleware {
  return { name: 'compressResponses', after: async (request) => compress(request) };
}
