import { z } from 'zod';
import { GameServerStatusSchema, LoadBalancerStatusSchema } from './items';
import { ClaimIdSchema, DrainReasonSchema, EndpointSchema, GroupSchema, LabelKeySchema, RegionSchema } from './primitives';

// ---------- responses ----------

export const GameServerSchema = z
  .object({
    endpoint: z.string(),
    publicEndpoint: z.string().optional(),
    region: z.string(),
    group: z.string().optional(),
    node: z.string(),
    status: GameServerStatusSchema,
    lastHeartbeatAt: z.iso.datetime(),
    labels: z.record(z.string(), z.string()).optional(),
    /** Shown only to the claim's owner (and admins); everyone else sees the status alone. */
    claimId: z.string().optional().describe("The claim holding the server: shown only to the claim's owner and to admins"),
    leaseExpiresAt: z.iso.datetime().optional(),
    /** Busy servers: when the hold runs out (renewing the claim moves it). */
    holdExpiresAt: z.iso.datetime().optional(),
    players: z.number().optional(),
    capacity: z.number().optional(),
    lifecycle: z.enum(['spot', 'on-demand']).optional(),
    instanceId: z.string().optional(),
    /** True when the server has not heartbeated within the timeout (never offered nor claimable). */
    stale: z.boolean().optional(),
  });
export type GameServer = z.infer<typeof GameServerSchema>;

export const LoadBalancerSchema = z
  .object({
    endpoint: z.string(),
    publicEndpoint: z.string().optional(),
    region: z.string(),
    node: z.string(),
    status: LoadBalancerStatusSchema,
    targets: z.array(z.string()),
    lastHeartbeatAt: z.iso.datetime(),
  });
export type LoadBalancer = z.infer<typeof LoadBalancerSchema>;

export const ClaimSchema = z
  .object({
    claimId: z.string(),
    status: z.enum(['leased', 'confirmed', 'released']),
    /** The principal the claim belongs to: `key:<key name>` or `iam:<partition>:<account>:<role|user>/<name>`. */
    owner: z.string().optional(),
    servers: z.array(GameServerSchema),
    leaseExpiresAt: z.iso.datetime(),
    /** A leased claim past its lease: its servers may have gone to someone else. */
    expired: z.boolean(),
    /** Confirmed claims: the servers are held busy until then unless the claim is renewed. */
    holdExpiresAt: z.iso.datetime().optional(),
    holdSeconds: z.number(),
    createdAt: z.iso.datetime(),
    confirmedAt: z.iso.datetime().optional(),
    renewedAt: z.iso.datetime().optional(),
    releasedAt: z.iso.datetime().optional(),
  });
export type Claim = z.infer<typeof ClaimSchema>;

/** POST /claim-gs: the claim, and whether this was an earlier request's result (the same claim id again). */
export const ClaimResultSchema = ClaimSchema.extend({
  replayed: z.boolean().describe('True when the claim id was used before: the claim as it stands, never a second one'),
});

/** POST /claims/{claimId}/replace: the claim after the replace, and which server replaced which. */
export const ReplaceResultSchema = ClaimSchema.extend({
  replaced: z
    .object({ lost: z.string(), replacement: z.string() })
    .describe("The lost server and the one that took its place in the claim (a retry answers the same pair)"),
  replayed: z.boolean().describe('True when the claim already had this replacement when the call looked (a retry): nothing new was claimed'),
});
export type ReplaceResult = z.infer<typeof ReplaceResultSchema>;

export const HealthSchema = z.object({ status: z.literal('ok') });
export const ServerListSchema = z.object({ servers: z.array(GameServerSchema) });
export const LoadBalancerListSchema = z.object({ loadBalancers: z.array(LoadBalancerSchema) });
export const SetBusyResultSchema = z.object({ server: GameServerSchema, claimId: z.string(), holdExpiresAt: z.iso.datetime() });
export const SetAvailableResultSchema = z.object({
  released: z.boolean().describe('False when the claim id held nothing (already released, never held, or held by another principal)'),
  server: GameServerSchema,
});

export const ErrorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
  });

export const InventorySchema = z
  .object({
    total: z.number(),
    byStatus: z.record(z.string(), z.number()),
    byRegion: z.record(z.string(), z.record(z.string(), z.number())),
    stale: z.number(),
    generatedAt: z.iso.datetime(),
  });

/** The claim a server of the fleet view is held by. */
export const FleetClaimSchema = z.object({
  ref: z.string().describe('Opaque reference of the claim (a digest of its id): servers with the same ref belong to one claim'),
  id: z.string().optional().describe("The claim id: shown only to the claim's owner and to admins"),
  owner: z.string().optional(),
  since: z.iso.datetime().describe('When the claim took the server'),
  confirmed: z.boolean().describe('Busy (confirmed, or set busy) rather than leased'),
  expiresAt: z.iso.datetime().describe('The end of the lease (leased) or of the hold (confirmed)'),
});

/** One server of `GET /fleet`: what a dashboard shows of it. */
export const FleetServerSchema = GameServerSchema.pick({
  endpoint: true,
  publicEndpoint: true,
  region: true,
  group: true,
  node: true,
  status: true,
  lifecycle: true,
  players: true,
  capacity: true,
  lastHeartbeatAt: true,
}).extend({
  stale: z.literal(true).optional(),
  drain: DrainReasonSchema.optional().describe('While draining: why'),
  nodeDrained: z.literal(true).optional().describe("The server's node is drained (its drain watcher said so)"),
  claim: FleetClaimSchema.optional().describe('While claimed or busy'),
});
export type FleetServer = z.infer<typeof FleetServerSchema>;

export const FleetSchema = z.object({
  generatedAt: z.iso.datetime().describe('When the records were read (a reading is shared for up to 2 s)'),
  servers: z.array(FleetServerSchema),
});
export type Fleet = z.infer<typeof FleetSchema>;

/** One entry of the recent-events feed: a lifecycle notification, in short. */
export const FeedEventSchema = z.object({
  id: z.string().describe('The notification id (CloudEvents id)'),
  type: z.string(),
  time: z.iso.datetime(),
  endpoint: z.string(),
  status: z.string().optional(),
  previousStatus: z.string().optional(),
  reason: z.string().optional(),
  node: z.string().optional(),
  region: z.string().optional(),
  group: z.string().optional(),
  owner: z.string().optional(),
  claimRef: z.string().optional(),
  claimId: z.string().optional().describe("Shown only to the claim's owner and to admins"),
});
export type FeedEvent = z.infer<typeof FeedEventSchema>;

export const RecentEventsSchema = z.object({ events: z.array(FeedEventSchema).describe('Newest first') });

// ---------- requests ----------

const booleanFlag = z.enum(['true', 'false']).transform((value) => value === 'true');
const LABEL_PARAM = /^label\.(.+)$/;

/**
 * `GET /get-available-gs?region=&group=&limit=&distinctNodes=&label.<k>=<v>`. Unknown parameters
 * are refused; `label.*` parameters become a label filter.
 */
export const ListQuerySchema = z
  .record(z.string(), z.string().max(256))
  .transform((raw, ctx) => {
    const known = new Set(['region', 'group', 'limit', 'distinctNodes']);
    const labels: Record<string, string> = {};
    for (const [name, value] of Object.entries(raw)) {
      const label = LABEL_PARAM.exec(name);
      if (label) {
        const key = LabelKeySchema.safeParse(label[1]);
        if (!key.success) ctx.addIssue({ code: 'custom', path: [name], message: 'invalid label key' });
        else labels[key.data] = value;
      } else if (!known.has(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'unknown query parameter' });
      }
    }
    if (Object.keys(labels).length > 16) ctx.addIssue({ code: 'custom', path: ['label'], message: 'at most 16 label filters' });
    return { ...raw, labels };
  })
  .pipe(
    z.object({
      region: RegionSchema.optional(),
      group: GroupSchema.optional(),
      limit: z.coerce.number().int().min(1).max(100).default(10),
      distinctNodes: booleanFlag.default(false),
      labels: z.record(z.string(), z.string()),
    }),
  );
export type ListQuery = z.infer<typeof ListQuerySchema>;

export const EndpointParamsSchema = z.strictObject({ endpoint: EndpointSchema });
export const ClaimIdParamsSchema = z.strictObject({ claimId: ClaimIdSchema });

/** A hold in seconds (the configured maximum applies on top: claim.hold_too_long). */
const HoldSecondsSchema = z.number().int().min(1).max(30 * 86_400);

export const SetBusyBodySchema = z.strictObject({ claimId: ClaimIdSchema.optional(), holdSeconds: HoldSecondsSchema.optional() }).optional();
export const RenewBodySchema = z.strictObject({ seconds: HoldSecondsSchema.optional() }).optional();
export const SetAvailableBodySchema = z.strictObject({ claimId: ClaimIdSchema });

export const ClaimRequestSchema = z
  .strictObject({
    claimId: ClaimIdSchema,
    count: z.number().int().min(1).max(10).default(1),
    region: RegionSchema.optional(),
    group: GroupSchema.optional(),
    labels: z.record(LabelKeySchema, z.string().max(256)).refine((l) => Object.keys(l).length <= 16, 'at most 16 labels').optional(),
    distinctNodes: z.boolean().optional(),
    leaseSeconds: z.number().int().min(1).max(3600).optional(),
    holdSeconds: HoldSecondsSchema.optional(),
  });
/**
 * POST /claims/{claimId}/replace: `lost` is one of the claim's servers that is no longer usable;
 * the replacement matches region, group and labels, on a node of its own among the claim's
 * servers unless `distinctNodes` is false.
 */
export const ReplaceServerBodySchema = z.strictObject({
  lost: EndpointSchema,
  region: RegionSchema.optional(),
  group: GroupSchema.optional(),
  labels: z.record(LabelKeySchema, z.string().max(256)).refine((l) => Object.keys(l).length <= 16, 'at most 16 labels').optional(),
  distinctNodes: z.boolean().default(true),
});
/** POST /claims/{claimId}/replace as a caller sends it (defaults not applied yet). */
export type ReplaceServerInput = z.input<typeof ReplaceServerBodySchema>;

/** POST /claim-gs as a caller sends it (defaults not applied yet): the contract the pod clients share. */
export type ClaimRequestInput = z.input<typeof ClaimRequestSchema>;

/** The durations a deployment applies when a request names none (DEFAULT_LEASE_SECONDS, DEFAULT_HOLD_SECONDS). */
export interface DurationDefaults {
  leaseSeconds: number;
  holdSeconds: number;
}

/**
 * POST /claim-gs with every default applied, where the handlers validate it: one server, distinct
 * nodes for a group of several, the deployment's lease and hold. The OpenAPI document shows
 * ClaimRequestSchema, whose deployment-dependent defaults are described in words.
 */
export function claimRequestSchema(defaults: DurationDefaults) {
  return ClaimRequestSchema.transform((body) => ({
    ...body,
    distinctNodes: body.distinctNodes ?? body.count > 1,
    leaseSeconds: body.leaseSeconds ?? defaults.leaseSeconds,
    holdSeconds: body.holdSeconds ?? defaults.holdSeconds,
  }));
}

/** POST /set-gs-busy/{endpoint} with the deployment's hold applied when the body names none. */
export function setBusyBodySchema(defaults: Pick<DurationDefaults, 'holdSeconds'>) {
  return SetBusyBodySchema.transform((body) => ({
    ...(body?.claimId !== undefined ? { claimId: body.claimId } : {}),
    holdSeconds: body?.holdSeconds ?? defaults.holdSeconds,
  }));
}

export const LoadBalancerQuerySchema = z.strictObject({
  region: RegionSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** `GET /fleet?region=&group=`: every server, or those of one region (and group). */
export const FleetQuerySchema = z.strictObject({
  region: RegionSchema.optional(),
  group: GroupSchema.optional(),
});

/** `GET /events/recent?limit=` */
export const RecentEventsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** `GET /dashboard/assets/{file}`: a bundled asset's content-hashed name. */
export const DashboardAssetParamsSchema = z.strictObject({
  file: z.string().regex(/^[a-z]+\.[0-9a-f]{16}\.(js|css)$/, 'not an asset of the dashboard'),
});
