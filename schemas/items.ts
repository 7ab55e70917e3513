import { z } from 'zod';

/** Stored in place of a time that never comes: busy/draining/terminated servers are never claimable. */
export const NEVER = 8_640_000_000_000_000;

export const PhaseSchema = z.enum(['active', 'draining', 'terminated']);

export const GameServerStatusSchema = z.enum(['available', 'claimed', 'busy', 'draining', 'terminated']);
export type GameServerStatus = z.infer<typeof GameServerStatusSchema>;

/**
 * What every pod record (a game server's, a load balancer's) holds: the pod's identity and place,
 * the order of the event that wrote it (podUid, seq, sentAt: see lib/pods/ordering.ts), its
 * liveness, and the record's own version. Times are epoch milliseconds, `expiresAt` is TTL seconds.
 */
export const PodRecordSchema = z.object({
  endpoint: z.string(),
  publicEndpoint: z.string().optional(),
  region: z.string(),
  node: z.string(),
  instanceId: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  phase: PhaseSchema,
  source: z.enum(['v1', 'legacy']),
  podUid: z.string(),
  seq: z.number(),
  sentAt: z.number(),
  lastEvent: z.string(),
  lastHeartbeatAt: z.number(),
  /** Past this time the pod counts as stale (no heartbeat): a stale server is neither offered nor claimable. */
  freshUntil: z.number(),
  version: z.number(),
  updatedAt: z.number(),
  expiresAt: z.number().optional(),
});

/** A row of `game-server-status-by-endpoint`. */
export const GameServerItemSchema = PodRecordSchema.extend({
  group: z.string().optional(),
  lifecycle: z.enum(['spot', 'on-demand']).optional(),
  capacity: z.number().optional(),
  players: z.number().optional(),
  status: GameServerStatusSchema,
  /**
   * From this time the server is claimable, and its sort key in the availability index: while
   * available, its pool position in [0, 1) (lib/game-servers/availability-keys.ts poolPosition);
   * the lease or hold end while claimed or busy; NEVER while draining or terminated.
   */
  availableAt: z.number(),
  /**
   * When the server last returned to the pool by a release: claims and holds stamped with an
   * earlier clock are refused (a late copy cannot take a server released after it was sent).
   */
  returnedAt: z.number().optional(),
  availAll: z.string(),
  availRegion: z.string(),
  availGroup: z.string().optional(),
  claimId: z.string().optional(),
  /** The claim attempt that holds the server (a claim id's attempts are told apart by it). */
  claimAttempt: z.string().optional(),
  /** The principal whose claim holds the server (lib/ownership.ts); absent on records from before owners. */
  owner: z.string().optional(),
  claimedAt: z.number().optional(),
  /** While claimed: the end of the lease (also availableAt, so the index offers it again then). */
  leaseExpiresAt: z.number().optional(),
  /** While busy: the end of the hold (also availableAt); renewing the claim moves it. */
  holdExpiresAt: z.number().optional(),
  /**
   * Set while the server's node is drained and the pod itself is still active: the status is then
   * `draining` whatever the pod says, until the node is un-drained (see lib/nodes).
   */
  nodeDraining: z.literal(true).optional(),
  /** Why the node is drained, as its drain watcher said (while `nodeDraining`). */
  nodeDrainReason: z.string().optional(),
  /**
   * Key of the sparse `stale-watch` index (a shard, `w#<n>`): present exactly while a claim holds
   * the server (claimed or busy) and it is not marked stale, so the stale sweep finds held servers
   * whose heartbeats stopped without reading the pool (lib/game-servers/stale-watch.ts).
   */
  watch: z.string().optional(),
  /**
   * When the stale sweep found the server held and its heartbeats stopped (the write that tells
   * subscribers `gs.stale`). Cleared by the first heartbeat that makes it fresh again.
   */
  staleAt: z.number().optional(),
});
export type GameServerItem = z.infer<typeof GameServerItemSchema>;

export const LoadBalancerStatusSchema = z.enum(['active', 'draining', 'terminated']);
export type LoadBalancerStatus = z.infer<typeof LoadBalancerStatusSchema>;

/** A row of `lb-status-by-endpoint`. */
export const LoadBalancerItemSchema = PodRecordSchema.extend({
  targets: z.array(z.string()),
  status: LoadBalancerStatusSchema,
  /** Constant partition of the fleet-wide index (load balancers are few). */
  fleet: z.literal('lb'),
});
export type LoadBalancerItem = z.infer<typeof LoadBalancerItemSchema>;

export const NodeStateSchema = z.enum(['ready', 'draining']);
export type NodeState = z.infer<typeof NodeStateSchema>;

/** A row of `node-status-by-name`: the latest event of a node's drain watcher. */
export const NodeItemSchema = z.object({
  node: z.string(),
  state: NodeStateSchema,
  /** Order of the event that set the state: (sentAt, seq, ...). */
  sentAt: z.number(),
  seq: z.number(),
  instanceId: z.string().optional(),
  region: z.string().optional(),
  reason: z.string().optional(),
  watcher: z.string().optional(),
  version: z.number(),
  updatedAt: z.number(),
  expiresAt: z.number().optional(),
});
export type NodeItem = z.infer<typeof NodeItemSchema>;

export const ClaimStatusSchema = z.enum(['leased', 'confirmed', 'released']);
export type ClaimStatus = z.infer<typeof ClaimStatusSchema>;

/**
 * A row of the claims table: one per claim id, the unit of idempotency. It is written once, after
 * every server of the claim carries its claim id and attempt: its existence is the claim's commit
 * point, and it is never withdrawn (see lib/claims/claim.ts).
 */
export const ClaimItemSchema = z.object({
  claimId: z.string(),
  status: ClaimStatusSchema,
  endpoints: z.array(z.string()),
  /** Hash of the claim request: the same claim id with a different request is refused. */
  requestHash: z.string(),
  /** The attempt whose server writes the record commits; its servers carry the same attempt id. */
  attemptId: z.string(),
  createdAt: z.number(),
  leaseSeconds: z.number(),
  leaseExpiresAt: z.number(),
  /** How long a confirm or renew holds the servers busy. */
  holdSeconds: z.number(),
  /** Confirmed claims: the end of the hold (renew moves it). */
  holdExpiresAt: z.number().optional(),
  confirmedAt: z.number().optional(),
  renewedAt: z.number().optional(),
  releasedAt: z.number().optional(),
  /** Released claims: the servers the release returned to the pool (replays answer the same). */
  releasedEndpoints: z.array(z.string()).optional(),
  /**
   * Servers the claim replaced (POST /claims/{claimId}/replace): lost endpoint -> its replacement.
   * Written in the same conditional update that swaps the two in `endpoints` (the replace's commit
   * point); a retry of the replace finds its entry here and answers the same replacement.
   */
  replaced: z.record(z.string(), z.string()).optional(),
  /** The principal that made the claim: only it (or an admin) may see or change it (lib/ownership.ts). */
  owner: z.string().optional(),
  /** TTL (epoch seconds): the claim's deadline (or release) plus the retention; garbage collection only. */
  expiresAt: z.number(),
});
export type ClaimItem = z.infer<typeof ClaimItemSchema>;
