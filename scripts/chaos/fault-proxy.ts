/**
 * A fault-injecting TCP proxy that speaks just enough HTTP/1.1 to act per request. It sits between
 * AWS SDK clients and DynamoDB Local and resets, swallows or delays chosen requests, so retry and
 * idempotency code is exercised by real network failures instead of SDK mocks.
 *
 * Why our own rather than toxiproxy or an http.Server-based proxy: toxiproxy acts on byte streams
 * (it cannot tell one request from the next, so "reset once this write has been applied" is not
 * expressible), and http.Server owns the connection (keep-alive, its own error responses) and
 * aborts a request whose client has gone, which is exactly the late write we want delivered.
 */
import { mulberry32 } from '../../testkit/rng';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export type FaultName = 'reset-before' | 'reset-after' | 'blackhole' | 'latency' | 'outage';

/** Random faults, drawn per request. */
export interface FaultProfile {
  /**
   * Per-request probabilities, 0..1 (independent draws from a seeded PRNG).
   * resetBefore: the client connection is reset before the request is forwarded, so DynamoDB never applies it.
   */
  resetBefore?: number;
  /** Request forwarded and applied; its response is dropped and the client connection reset. */
  resetAfter?: number;
  /** Request swallowed: never forwarded, never answered; the client socket stays open until the client gives up. */
  blackhole?: number;
  /** Request held for a uniform [minMs, maxMs] before forwarding (forwarded even if the client gave up meanwhile). */
  latency?: { probability: number; minMs: number; maxMs: number };
}

/** What an {@link InjectRule} sees of a request. */
export interface RequestInfo {
  /** `X-Amz-Target` after its last dot (`DynamoDB_20120810.UpdateItem` -> `UpdateItem`); '' when absent. */
  op: string;
  /** The request body (de-chunked), as UTF-8. */
  body: string;
}

/** A deterministic fault for the next `times` requests that `match`. */
export interface InjectRule {
  /** A throwing matcher counts as "no match" (it must not take the proxy down). */
  match: (request: RequestInfo) => boolean;
  fault: 'reset-before' | 'reset-after' | 'blackhole' | { delayMs: number };
  /** How many matching requests get the fault (default 1). */
  times?: number;
}

export interface FaultProxyStats {
  /** Every complete request read from a client, whatever happened to it. */
  requests: number;
  /** Requests written to an upstream connection (including late "zombie" ones whose client had gone). */
  forwarded: number;
  /** Faults applied, by kind. A delayed request that is also reset counts under both. */
  faults: Record<FaultName, number>;
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Random faults from now on (`{}` = none). Throws RangeError on a probability outside 0..1 or a bad latency range. */
  setProfile(profile: FaultProfile): void;
  /** Deterministic: the next `times` matching requests get this fault. Rules are checked, in order, before the random profile. */
  inject(rule: InjectRule): void;
  /**
   * Every request (on new or already open connections, and delayed ones when their delay ends) is reset
   * until {@link endOutage}; each counts as 'outage'. Idle connections stay open.
   */
  startOutage(): void;
  endOutage(): void;
  /** A snapshot (later requests do not change it). */
  stats(): FaultProxyStats;
  /** Closes the listener and every client and upstream socket; requests still held (latency) are dropped. */
  close(): Promise<void>;
}

/**
 * Starts a fault proxy on 127.0.0.1 in front of `target` (an `http://host:port` URL).
 *
 * Each client connection gets its own upstream connection, and its requests are handled one at a
 * time, in order (as HTTP/1.1 requires of responses). For every request the proxy decides, in
 * this order: outage -> injected rules -> random profile. In the profile, reset-before wins over
 * blackhole, which wins over reset-after; latency combines with reset-after or a plain forward.
 *
 * Random draws come from mulberry32 seeded with `seed` (default 1): the same seed, profile and
 * sequence of requests give the same faults. A request that answers to the profile always takes
 * five draws, so the sequence does not depend on which faults the profile enables.
 *
 * Never throws after start-up: socket errors reset the affected connection only. An upstream that
 * fails or sends an unframeable response resets the client connection (not counted as a fault).
 */
export async function startFaultProxy(options: { target: string; seed?: number; port?: number }): Promise<FaultProxy> {
  const target = parseTarget(options.target);
  const core = new ProxyCore(target, options.seed ?? 1);
  const server = createServer({ noDelay: true }, (socket) => core.accept(socket));
  await listen(server, options.port ?? 0);
  server.on('error', () => undefined); // accept() failures (EMFILE...) must not crash the caller
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('fault proxy: listener has no port');
  const port = address.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setProfile: (profile) => core.setProfile(profile),
    inject: (rule) => core.inject(rule),
    startOutage: () => {
      core.outage = true;
    },
    endOutage: () => {
      core.outage = false;
    },
    stats: () => ({ ...core.counters, faults: { ...core.counters.faults } }),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      core.shutdown();
      await closed;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fault decisions (pure)
// ---------------------------------------------------------------------------------------------

/** What happens to one request. */
export type FaultPlan =
  | { kind: 'reset-before' }
  | { kind: 'blackhole' }
  /** `delayMs` null = forward at once; `resetAfter` = drop the response and reset once it has arrived. */
  | { kind: 'forward'; delayMs: number | null; resetAfter: boolean };

interface ActiveRule {
  rule: InjectRule;
  remaining: number;
}

const PASS: FaultPlan = { kind: 'forward', delayMs: null, resetAfter: false };

/** The first rule with matches left that matches `request`, as an index into `rules`; -1 if none. */
function findRule(rules: readonly ActiveRule[], request: RequestInfo): number {
  return rules.findIndex((active) => {
    if (active.remaining <= 0) return false;
    try {
      return active.rule.match(request);
    } catch {
      return false;
    }
  });
}

function planForRule(fault: InjectRule['fault']): FaultPlan {
  if (fault === 'reset-before' || fault === 'blackhole') return { kind: fault };
  if (fault === 'reset-after') return { kind: 'forward', delayMs: null, resetAfter: true };
  return { kind: 'forward', delayMs: Math.max(0, fault.delayMs), resetAfter: false };
}

/** Draws a plan from the profile: always five draws, whichever faults the profile enables. */
export function planFromProfile(profile: FaultProfile, random: () => number): FaultPlan {
  const [resetBefore, resetAfter, blackhole, latency, latencySpan] = [random(), random(), random(), random(), random()];
  if (resetBefore < (profile.resetBefore ?? 0)) return { kind: 'reset-before' };
  if (blackhole < (profile.blackhole ?? 0)) return { kind: 'blackhole' };
  const slow = profile.latency && latency < profile.latency.probability ? profile.latency : undefined;
  const delayMs = slow ? Math.round(slow.minMs + latencySpan * (slow.maxMs - slow.minMs)) : null;
  const reset = resetAfter < (profile.resetAfter ?? 0);
  return delayMs === null && !reset ? PASS : { kind: 'forward', delayMs, resetAfter: reset };
}

function validateProfile(profile: FaultProfile): void {
  const probabilities: Array<[string, number | undefined]> = [
    ['resetBefore', profile.resetBefore],
    ['resetAfter', profile.resetAfter],
    ['blackhole', profile.blackhole],
    ['latency.probability', profile.latency?.probability],
  ];
  for (const [name, value] of probabilities) {
    if (value !== undefined && !(value >= 0 && value <= 1)) throw new RangeError(`fault profile: ${name} must be within 0..1, got ${value}`);
  }
  const latency = profile.latency;
  if (latency && !(latency.minMs >= 0 && latency.maxMs >= latency.minMs)) {
    throw new RangeError(`fault profile: latency needs 0 <= minMs <= maxMs, got ${latency.minMs}..${latency.maxMs}`);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 framing (pure)
// ---------------------------------------------------------------------------------------------

/** Larger heads are refused (Node's own http server allows 16 KiB). */
const MAX_HEAD_BYTES = 64 * 1024;
/** DynamoDB caps a request at 16 MB (BatchWriteItem); anything larger is not ours to carry. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');

/** Header names lower-cased; repeated fields joined with ', ' (RFC 9110 5.3). */
export type HttpHeaders = ReadonlyMap<string, string>;

/** `needBytes`: when known, the whole message is at least this long (no point framing again before). */
type Incomplete = { kind: 'incomplete'; needBytes?: number };
/** A body found: it ends at `end` (exclusive); `body` is decoded. */
type FramedBody = { kind: 'body'; end: number; body: Buffer };
type Invalid = { kind: 'invalid'; reason: string };
const INCOMPLETE: Incomplete = { kind: 'incomplete' };
const invalid = (reason: string): Invalid => ({ kind: 'invalid', reason });

interface Head {
  kind: 'head';
  /** Bytes up to and including the blank line. */
  length: number;
  startLine: string;
  headers: HttpHeaders;
}

function parseHead(buffer: Buffer): Head | Incomplete | Invalid {
  // RFC 9112 2.2: a server SHOULD ignore empty lines received before the request line.
  let start = 0;
  while (buffer.length >= start + 2 && buffer[start] === 0x0d && buffer[start + 1] === 0x0a) start += 2;
  const end = buffer.indexOf(HEAD_END, start);
  if (end < 0) return buffer.length - start > MAX_HEAD_BYTES ? invalid('head too large') : INCOMPLETE;
  if (end - start > MAX_HEAD_BYTES) return invalid('head too large');
  const [startLine = '', ...fieldLines] = buffer.toString('latin1', start, end).split('\r\n');
  const headers = new Map<string, string>();
  for (const line of fieldLines) {
    // No whitespace before the colon, no obsolete line folding (RFC 9112 5.1, 5.2): both smuggling vectors.
    const field = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!field) return invalid(`bad header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = field[1]!.toLowerCase();
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? field[2]! : `${previous}, ${field[2]!}`);
  }
  return { kind: 'head', length: end + HEAD_END.length, startLine, headers };
}

type BodyFraming = { kind: 'none' } | { kind: 'length'; bytes: number } | { kind: 'chunked' } | { kind: 'until-close' };

/**
 * RFC 9112 6.3: chunked (as the final coding) wins over Content-Length; a Content-Length must be
 * one number (repeats allowed only if identical). With neither, a request has no body and a
 * response runs until the connection closes.
 */
function bodyFraming(headers: HttpHeaders, isRequest: boolean): BodyFraming | Invalid {
  const transferEncoding = headers.get('transfer-encoding');
  if (transferEncoding !== undefined) {
    const codings = transferEncoding.toLowerCase().split(',').map((coding) => coding.trim());
    if (codings.at(-1) === 'chunked') return { kind: 'chunked' };
    return isRequest ? invalid('transfer-encoding without final chunked') : { kind: 'until-close' };
  }
  const contentLength = headers.get('content-length');
  if (contentLength !== undefined) {
    const values = new Set(contentLength.split(',').map((value) => value.trim()));
    const [value] = values;
    if (values.size !== 1 || value === undefined || !/^\d{1,12}$/.test(value)) return invalid(`bad content-length: ${contentLength}`);
    const bytes = Number(value);
    if (bytes > MAX_BODY_BYTES) return invalid('body too large');
    return bytes === 0 ? { kind: 'none' } : { kind: 'length', bytes };
  }
  return isRequest ? { kind: 'none' } : { kind: 'until-close' };
}

/** Where a chunked body that starts at `offset` ends, and its decoded bytes. */
function frameChunked(buffer: Buffer, offset: number): FramedBody | Incomplete | Invalid {
  const chunks: Buffer[] = [];
  let size = 0;
  let position = offset;
  for (;;) {
    const lineEnd = buffer.indexOf(CRLF, position);
    if (lineEnd < 0) return buffer.length - position > 1024 ? invalid('chunk size line too long') : INCOMPLETE;
    const sizeText = (buffer.toString('latin1', position, lineEnd).split(';')[0] ?? '').trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return invalid(`bad chunk size: ${JSON.stringify(sizeText.slice(0, 20))}`);
    const chunkSize = parseInt(sizeText, 16);
    position = lineEnd + CRLF.length;
    if (chunkSize === 0) {
      // The last chunk is followed by trailer fields, each ending in CRLF, then an empty line.
      for (;;) {
        const trailerEnd = buffer.indexOf(CRLF, position);
        if (trailerEnd < 0) return buffer.length - position > MAX_HEAD_BYTES ? invalid('trailers too large') : INCOMPLETE;
        if (trailerEnd === position) return { kind: 'body', end: trailerEnd + CRLF.length, body: Buffer.concat(chunks, size) };
        position = trailerEnd + CRLF.length;
      }
    }
    size += chunkSize;
    if (size > MAX_BODY_BYTES) return invalid('body too large');
    if (buffer.length < position + chunkSize + CRLF.length) return INCOMPLETE;
    if (buffer[position + chunkSize] !== 0x0d || buffer[position + chunkSize + 1] !== 0x0a) return invalid('chunk not followed by CRLF');
    chunks.push(buffer.subarray(position, position + chunkSize));
    position += chunkSize + CRLF.length;
  }
}

function frameBody(buffer: Buffer, offset: number, framing: BodyFraming): FramedBody | Incomplete | Invalid {
  switch (framing.kind) {
    case 'none':
      return { kind: 'body', end: offset, body: EMPTY };
    case 'length':
      return buffer.length < offset + framing.bytes
        ? { kind: 'incomplete', needBytes: offset + framing.bytes }
        : { kind: 'body', end: offset + framing.bytes, body: buffer.subarray(offset, offset + framing.bytes) };
    case 'chunked':
      return frameChunked(buffer, offset);
    case 'until-close':
      return { kind: 'body', end: buffer.length, body: buffer.subarray(offset) };
  }
}

/** One complete request at the start of a buffer. */
export interface FramedRequest {
  /** Bytes it occupies. */
  length: number;
  /** Those bytes, forwarded unchanged. */
  bytes: Buffer;
  method: string;
  headers: HttpHeaders;
  /** Decoded body. */
  body: Buffer;
}

/**
 * Frames the first request in `buffer`. `incomplete` says whether the client waits for a
 * `100 Continue` before sending the body (head complete, `Expect: 100-continue`, body missing).
 */
export function frameRequest(buffer: Buffer): { kind: 'complete'; request: FramedRequest } | (Incomplete & { expectContinue?: boolean }) | Invalid {
  const head = parseHead(buffer);
  if (head.kind === 'incomplete' || head.kind === 'invalid') return head;
  const requestLine = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]$/.exec(head.startLine);
  if (!requestLine) return invalid(`bad request line: ${JSON.stringify(head.startLine.slice(0, 80))}`);
  const framing = bodyFraming(head.headers, true);
  if (framing.kind === 'invalid') return framing;
  const body = frameBody(buffer, head.length, framing);
  if (body.kind === 'incomplete') return { ...body, expectContinue: head.headers.get('expect')?.toLowerCase() === '100-continue' };
  if (body.kind === 'invalid') return body;
  return { kind: 'complete', request: { length: body.end, bytes: buffer.subarray(0, body.end), method: requestLine[1]!, headers: head.headers, body: body.body } };
}

/** One response at the start of a buffer. */
export interface FramedResponse {
  length: number;
  status: number;
  /** The upstream will close after it (`Connection: close`, or HTTP/1.0 without keep-alive). */
  closes: boolean;
}

/**
 * Frames the first response in `buffer`, given the method of the request it answers (a HEAD
 * response has no body). `interim` is a 1xx response to skip; `until-close` means the body runs
 * until the upstream closes, so the response is complete only then.
 */
export function frameResponse(
  buffer: Buffer,
  requestMethod: string,
): { kind: 'complete'; response: FramedResponse } | { kind: 'interim'; length: number } | { kind: 'until-close'; status: number } | Incomplete | Invalid {
  const head = parseHead(buffer);
  if (head.kind === 'incomplete' || head.kind === 'invalid') return head;
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(head.startLine);
  if (!statusLine) return invalid(`bad status line: ${JSON.stringify(head.startLine.slice(0, 80))}`);
  const status = Number(statusLine[2]);
  // 101 would switch protocols: not something a DynamoDB endpoint does, and not framed by HTTP/1.1 after it.
  if (status === 101) return invalid('protocol upgrade is not supported');
  if (status < 200) return { kind: 'interim', length: head.length };
  const connection = (head.headers.get('connection') ?? '').toLowerCase().split(',').map((token) => token.trim());
  const closes = connection.includes('close') || (statusLine[1] === '0' && !connection.includes('keep-alive'));
  const bodyless = requestMethod === 'HEAD' || status === 204 || status === 304;
  const framing = bodyless ? { kind: 'none' as const } : bodyFraming(head.headers, false);
  if (framing.kind === 'invalid') return framing;
  if (framing.kind === 'until-close') return { kind: 'until-close', status };
  const body = frameBody(buffer, head.length, framing);
  if (body.kind === 'incomplete' || body.kind === 'invalid') return body;
  return { kind: 'complete', response: { length: body.end, status, closes } };
}

// ---------------------------------------------------------------------------------------------
// Sockets
// ---------------------------------------------------------------------------------------------

interface Target {
  host: string;
  port: number;
}

function parseTarget(target: string): Target {
  const url = new URL(target);
  if (url.protocol !== 'http:') throw new Error(`fault proxy: target must be an http:// URL, got ${target}`);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port ? Number(url.port) : 80 };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Bytes read from a socket and not yet framed. Chunks are joined only when a frame could be
 * complete, so a large body arriving in many reads is copied once, not once per read.
 */
class ByteQueue {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Set from an incomplete frame's `needBytes`: until this many bytes are here, framing again is wasted work. */
  need = 0;

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  get worthFraming(): boolean {
    return this.size > 0 && this.size >= this.need;
  }

  /** Everything buffered, as one Buffer. */
  view(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0] ?? EMPTY;
  }

  /** Drops the first `bytes` (a framed message; slices already handed out stay valid). */
  drop(bytes: number): void {
    const rest = this.view().subarray(bytes);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    this.need = 0;
  }

  clear(): void {
    this.chunks = [];
    this.size = 0;
    this.need = 0;
  }
}

/** Shared state of one proxy: decisions, counters, open connections. */
class ProxyCore {
  outage = false;
  closed = false;
  readonly counters: FaultProxyStats = {
    requests: 0,
    forwarded: 0,
    faults: { 'reset-before': 0, 'reset-after': 0, blackhole: 0, latency: 0, outage: 0 },
  };
  readonly connections = new Set<ClientConnection>();
  private profile: FaultProfile = {};
  private rules: ActiveRule[] = [];
  private readonly random: () => number;
  /** Aborts every held (delayed) request at close(); one listener per held request. */
  private readonly abort = (() => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  })();

  constructor(
    readonly target: Target,
    seed: number,
  ) {
    this.random = mulberry32(seed);
  }

  accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.connections.add(new ClientConnection(socket, this));
  }

  setProfile(profile: FaultProfile): void {
    validateProfile(profile);
    this.profile = { ...profile, ...(profile.latency ? { latency: { ...profile.latency } } : {}) };
  }

  inject(rule: InjectRule): void {
    const times = rule.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new RangeError(`inject: times must be a positive integer, got ${times}`);
    this.rules.push({ rule, remaining: times });
  }

  /** Decides what happens to a request and counts the faults that decision applies. */
  plan(request: RequestInfo): FaultPlan {
    const index = findRule(this.rules, request);
    const active = this.rules[index];
    let plan: FaultPlan;
    if (active) {
      active.remaining -= 1;
      if (active.remaining === 0) this.rules.splice(index, 1);
      plan = planForRule(active.rule.fault);
    } else {
      plan = planFromProfile(this.profile, this.random);
    }
    if (plan.kind !== 'forward') this.count(plan.kind);
    else {
      if (plan.delayMs !== null) this.count('latency');
      if (plan.resetAfter) this.count('reset-after');
    }
    return plan;
  }

  count(fault: FaultName): void {
    this.counters.faults[fault] += 1;
  }

  /** Resolves true after `ms`, or false as soon as the proxy closes. */
  wait(ms: number): Promise<boolean> {
    return sleep(ms, true, { signal: this.abort.signal }).catch(() => false);
  }

  shutdown(): void {
    this.closed = true;
    this.abort.abort();
    for (const connection of this.connections) connection.destroy();
    this.connections.clear();
  }
}

/** One client connection, its queue of requests, and its upstream connection. */
class ClientConnection {
  private readonly input = new ByteQueue();
  private readonly queue: FramedRequest[] = [];
  /** open: reading requests; held: blackholed (input swallowed until the client leaves); ended: reset or closed. */
  private mode: 'open' | 'held' | 'ended' = 'open';
  private clientGone = false;
  private pumping = false;
  private continueSent = false;
  private readonly upstream: UpstreamLink;

  constructor(
    private readonly client: Socket,
    private readonly core: ProxyCore,
  ) {
    this.upstream = new UpstreamLink(core.target);
    client.on('error', () => undefined); // 'close' follows and does the cleanup
    client.on('data', (chunk: Buffer) => this.onData(chunk));
    client.on('close', () => this.onClientClose());
  }

  destroy(): void {
    this.mode = 'ended';
    this.queue.length = 0;
    this.client.destroy();
    this.upstream.close();
  }

  private onData(chunk: Buffer): void {
    if (this.mode !== 'open') return;
    this.input.append(chunk);
    while (this.input.worthFraming) {
      const framed = frameRequest(this.input.view());
      if (framed.kind === 'invalid') {
        this.reset();
        return;
      }
      if (framed.kind === 'incomplete') {
        this.input.need = framed.needBytes ?? 0;
        // Only when nothing is ahead of it: a 100 must not overtake an earlier request's response.
        if (framed.expectContinue && !this.continueSent && !this.pumping && this.queue.length === 0) {
          this.continueSent = true;
          this.client.write(CONTINUE);
        }
        break;
      }
      this.continueSent = false;
      this.queue.push(framed.request);
      this.input.drop(framed.request.length);
    }
    void this.pump();
  }

  private onClientClose(): void {
    this.clientGone = true;
    this.queue.length = 0;
    // A request in flight (a delayed zombie, or one awaiting its response) finishes first; pump() cleans up.
    if (!this.pumping) this.dispose();
  }

  private dispose(): void {
    this.upstream.close();
    this.core.connections.delete(this);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.mode === 'open' && !this.clientGone && !this.core.closed) {
        const request = this.queue.shift();
        if (!request) break;
        await this.handle(request);
      }
    } catch {
      this.reset();
    } finally {
      this.pumping = false;
      if (this.clientGone || this.core.closed) this.dispose();
      else if (this.mode !== 'open') this.upstream.close();
    }
  }

  private async handle(request: FramedRequest): Promise<void> {
    const { core } = this;
    core.counters.requests += 1;
    if (core.outage) return this.resetForOutage();
    const plan = core.plan(requestInfo(request));
    if (plan.kind === 'reset-before') return this.reset();
    if (plan.kind === 'blackhole') return this.hold();
    if (plan.delayMs !== null) {
      // Deliberately not abandoned when the client goes away meanwhile: a late write still lands.
      const waited = await core.wait(plan.delayMs);
      if (!waited) return;
      if (core.outage) return this.resetForOutage();
    }
    let response: { bytes: Buffer; closes: boolean };
    try {
      response = await this.upstream.exchange(request.bytes, request.method, () => {
        core.counters.forwarded += 1;
      });
    } catch {
      return this.reset();
    }
    if (plan.resetAfter) return this.reset();
    if (this.clientGone || this.mode !== 'open') return;
    this.client.write(response.bytes);
    if (response.closes) {
      this.mode = 'ended';
      this.client.end();
    }
  }

  private resetForOutage(): void {
    this.core.count('outage');
    this.reset();
  }

  /** Abrupt close (RST), so the client sees ECONNRESET; queued requests on it are dropped. */
  private reset(): void {
    this.mode = 'ended';
    this.queue.length = 0;
    this.input.clear();
    if (!this.client.destroyed) {
      try {
        this.client.resetAndDestroy();
      } catch {
        this.client.destroy();
      }
    }
    this.upstream.close();
  }

  private hold(): void {
    this.mode = 'held';
    this.queue.length = 0;
    this.input.clear();
    this.upstream.close();
  }
}

function requestInfo(request: FramedRequest): RequestInfo {
  const target = request.headers.get('x-amz-target') ?? '';
  return { op: target.slice(target.lastIndexOf('.') + 1), body: request.body.toString('utf8') };
}

interface PendingExchange {
  method: string;
  resolve(response: { bytes: Buffer; closes: boolean }): void;
  reject(error: Error): void;
}

/** The upstream side of one client connection: one request at a time, reconnecting lazily. */
class UpstreamLink {
  private socket: Socket | null = null;
  private readonly input = new ByteQueue();
  private pending: PendingExchange | null = null;

  constructor(private readonly target: Target) {}

  /**
   * Writes one request and resolves with the bytes of its response (1xx interim responses dropped).
   * `onWritten` runs once the request has reached the upstream socket (not if the connection failed first).
   */
  exchange(raw: Buffer, method: string, onWritten: () => void): Promise<{ bytes: Buffer; closes: boolean }> {
    return new Promise((resolve, reject) => {
      if (this.pending) {
        reject(new Error('fault proxy: upstream exchange already in flight'));
        return;
      }
      this.pending = { method, resolve, reject };
      // A socket the upstream has ended (idle keep-alive timeout) would fail the write: open a fresh one.
      const reusable = this.socket && !this.socket.destroyed && !this.socket.readableEnded ? this.socket : null;
      const socket = reusable ?? this.connect();
      socket.write(raw, (error) => {
        if (!error) onWritten();
      });
    });
  }

  close(): void {
    const socket = this.socket;
    this.socket = null;
    this.input.clear();
    socket?.destroy();
    this.fail(new Error('fault proxy: upstream connection closed'));
  }

  private connect(): Socket {
    this.socket?.destroy();
    const socket = createConnection({ host: this.target.host, port: this.target.port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.input.clear();
    socket.on('error', () => undefined); // 'close' follows
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.onData(chunk);
    });
    socket.on('close', () => {
      if (this.socket === socket) this.onClose();
    });
    return socket;
  }

  private onData(chunk: Buffer): void {
    if (!this.pending) {
      // Bytes nobody asked for: the response framing is lost, so this connection is unusable.
      this.close();
      return;
    }
    this.input.append(chunk);
    if (this.input.worthFraming) this.settle(false);
  }

  private onClose(): void {
    this.socket = null;
    this.settle(true);
    this.input.clear();
  }

  private settle(ended: boolean): void {
    for (;;) {
      const pending = this.pending;
      if (!pending) return;
      const buffered = this.input.view();
      const framed = frameResponse(buffered, pending.method);
      switch (framed.kind) {
        case 'interim':
          this.input.drop(framed.length);
          continue;
        case 'complete': {
          this.input.drop(framed.response.length);
          this.pending = null;
          pending.resolve({ bytes: buffered.subarray(0, framed.response.length), closes: framed.response.closes });
          return;
        }
        case 'until-close':
          if (!ended) {
            this.input.need = Number.POSITIVE_INFINITY; // nothing to frame until the upstream closes
            return;
          }
          this.pending = null;
          this.input.clear();
          pending.resolve({ bytes: buffered, closes: true });
          return;
        case 'incomplete':
          if (ended) this.fail(new Error('fault proxy: upstream closed mid-response'));
          else this.input.need = framed.needBytes ?? 0;
          return;
        case 'invalid':
          this.fail(new Error(`fault proxy: upstream sent an invalid response (${framed.reason})`));
          this.close();
          return;
      }
    }
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = null;
    pending?.reject(error);
  }
}
