// The data the chaos run records and the checker reads: the client history, the messages sent to
// the status queue, what the poller received, and the final tables. All plain JSON (times are
// epoch milliseconds from Date.now() of the runner's process, which also hosts the API
// instances, so answers and history share one clock).

/** Client operations the history records. */
export type ClientOp = 'claim' | 'confirm' | 'renew' | 'release' | 'set-busy' | 'set-available';

/** An HTTP status code, or what happened instead of an answer. */
export type Outcome = number | 'timeout' | 'error';

/** One request and its answer, as a client saw it. */
export interface HistoryEntry {
  id: number;
  /** Which workload client sent it (`claimer-3`, `racer-1`, `legacy-race-0`). */
  client: string;
  /** Index of the API instance it went to. */
  instance: number;
  op: ClientOp;
  /** The claim id (claim routes) or the set-gs-busy claim id. */
  claimId: string;
  /** set-gs-busy / set-gs-available: the server. */
  endpoint?: string;
  /** The JSON body sent. */
  request?: Record<string, unknown>;
  start: number;
  end: number;
  status: Outcome;
  /** Parsed JSON answer (absent for timeouts and connection errors). */
  body?: unknown;
  /** Timeout or connection error message. */
  error?: string;
}

export type MessageFormat = 'v1' | 'legacy' | 'poison';

/** Why a message was sent: an original event or one of the queue-side faults. */
export type MessageReason = 'original' | 'duplicate' | 'late-copy' | 'init-copy' | 'restart' | 'poison';

/** One SendMessage to the status queue. */
export interface SentMessage {
  messageId: string;
  body: string;
  format: MessageFormat;
  /** The game server it is about (absent for poison). */
  endpoint?: string;
  reason: MessageReason;
  delaySeconds: number;
  /** The SendMessage call's start and end: SQS stamps SentTimestamp in between. */
  sendStart: number;
  sendEnd: number;
}

/** What the poller (child process) logged about one message it received. */
export interface Delivery {
  /** SQS SentTimestamp as the poller's handler saw it on the first receive (legacy messages are ordered by it). */
  sentTimestamp: number;
  /** Later receives handed the handler a different SentTimestamp (SQS never changes it). */
  sentTimestampChanged?: boolean;
  /** First time any poller received it. */
  firstReceivedAt: number;
  /**
   * Latest time by which its effect on DynamoDB had certainly landed: the end of the last batch
   * that held it, or (a poller killed mid-batch) the kill time plus the longest injected delay,
   * since the proxy forwards a delayed write even after its sender died.
   */
  effectUntil: number;
  receives: number;
}

/** The fields of a game-server record the checker reads (see schemas/items.ts). */
export interface ServerRecord {
  endpoint: string;
  status: string;
  phase: string;
  podUid: string;
  seq: number;
  sentAt: number;
  node: string;
  source?: string;
  claimId?: string;
  claimAttempt?: string;
  claimedAt?: number;
  leaseExpiresAt?: number;
  holdExpiresAt?: number;
  availableAt: number;
  freshUntil: number;
}

/** The fields of a claim record the checker reads. `withdrawn` records read as absent to clients. */
export interface ClaimRecord {
  claimId: string;
  status: string;
  endpoints: string[];
  attemptId?: string;
  createdAt?: number;
  leaseExpiresAt?: number;
  holdExpiresAt?: number;
  confirmedAt?: number;
  releasedAt?: number;
}

/** The tables and the dead-letter queue after the run (read directly, not through the proxy). */
export interface Snapshot {
  /** When the tables were read; "now" for every deadline comparison. */
  now: number;
  servers: ServerRecord[];
  claims: ClaimRecord[];
  deadLetters: Array<{ messageId?: string; body: string }>;
}

/** Whether the status queue emptied once the faults stopped. */
export interface DrainOutcome {
  drained: boolean;
  /** Messages still in the queue (visible + in flight + delayed) when the wait gave up. */
  remaining: number;
  /** Seconds waited. */
  waitedSeconds: number;
}

/** Everything the checker needs; JSON-serialisable so unit tests can build it by hand. */
export interface Observation {
  history: HistoryEntry[];
  messages: SentMessage[];
  /** By message id; a message never received has none. */
  deliveries: Record<string, Delivery>;
  snapshot: Snapshot;
  drain: DrainOutcome;
}

export const VIOLATION_KINDS = [
  'double-hold',
  'claim-two-sets',
  'half-pair',
  'answer-vs-final',
  'orphan-busy',
  'unheld-confirmed',
  'not-claimable',
  'ingestion',
  'dead-lettered-valid',
  'poison-not-dead-lettered',
  'http-500',
  'queue-not-drained',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/** The promise each violation kind breaks (test names and report rows). */
export const PROMISES: Record<ViolationKind, string> = {
  'double-hold': 'no server is held by two claims at overlapping times',
  'claim-two-sets': 'a claim id is always answered with the same servers',
  'half-pair': 'group claims are all or nothing, on distinct nodes',
  'answer-vs-final': 'every 200 agrees with the final state',
  'orphan-busy': 'no server is busy without a live claim',
  'unheld-confirmed': 'a live confirmed claim holds all its servers',
  'not-claimable': 'a free, fresh server is claimable once leases run out',
  ingestion: 'each server ends in the state of its newest event, and no event sent before a claim undoes it',
  'dead-lettered-valid': 'no valid event ends in the dead-letter queue',
  'poison-not-dead-lettered': 'every malformed message ends in the dead-letter queue',
  'http-500': 'no request is answered 500',
  'queue-not-drained': 'the poller drains the queue once the faults stop',
};

export interface Violation {
  kind: ViolationKind;
  /** One line a human can act on. */
  message: string;
  /** The facts behind it (history entry ids, records). */
  details?: Record<string, unknown>;
}

/** A case the checker deliberately did not count, and why (e.g. the pod was replaced meanwhile). */
export interface Exemption {
  check: ViolationKind;
  endpoint: string;
  claimId?: string;
  /** Generic, so that exemptions can be counted by reason. */
  reason: string;
  /** The specifics (which pod). */
  detail?: string;
}

export interface CheckResult {
  /** By kind: how many, the first one in full, and the first few as one-liners. */
  violations: Record<ViolationKind, { count: number; example?: Violation; more?: string[] }>;
  exemptions: Exemption[];
  /** How much each check looked at, so a clean result is not a vacuous one. */
  checked: Record<string, number>;
}
