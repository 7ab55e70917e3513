import { NEVER, type GameServerItem, type GameServerStatus } from '../../schemas/items';
import type { GameServerLifecycleEvent } from '../events/normalize';
import { decideOrdering, laterPhase, phaseOfEvent, type Phase } from '../events/ordering';
import { freshUntil, ttlSeconds, type LivenessSettings } from '../events/liveness';
import { availabilityKeys } from './availability-keys';

export interface LifecycleSettings extends LivenessSettings {
  availabilityShards: number;
}

export type LifecycleDecision =
  | { kind: 'write'; item: GameServerItem }
  | { kind: 'ignore'; reason: 'duplicate-or-older' | 'older-pod' };

/**
 * Decides what a game-server lifecycle event does to the stored record (pure; no I/O).
 *
 * State transitions (status shown to clients):
 * - a new pod (first record, or a pod newer than the stored one): `ready`/`heartbeat` ->
 *   available; `draining` -> draining; `terminating`/`terminated` -> terminated. Claims of the
 *   previous pod are dropped with it.
 * - the same pod, newer event: its description (labels, players, ...) and heartbeat are taken;
 *   `ready`/`heartbeat` never change available/claimed/busy (a duplicated or late `ready`
 *   cannot undo a claim); `draining` -> draining and `terminating` -> terminated, keeping the
 *   claim visible.
 * - the same pod, older event: only a later phase is taken (draining/terminated), never a
 *   resurrection.
 * The caller writes `item` conditionally on the version it read.
 */
export function decideGameServerWrite(
  stored: GameServerItem | undefined,
  event: GameServerLifecycleEvent,
  now: number,
  settings: LifecycleSettings,
): LifecycleDecision {
  const ordering = decideOrdering(stored, event);
  if (ordering === 'ignore') {
    return { kind: 'ignore', reason: stored && stored.podUid !== event.podUid ? 'older-pod' : 'duplicate-or-older' };
  }
  const version = (stored?.version ?? 0) + 1;

  if (ordering === 'escalate') {
    const current = stored!;
    const phase = laterPhase(current.phase, phaseOfEvent(event.event));
    return { kind: 'write', item: withPhase({ ...current, version, updatedAt: now }, phase, now, settings) };
  }

  const heartbeatAt = Math.min(event.sentAt, now);
  const description = describe(event, settings);
  if (ordering === 'replace') {
    const item: GameServerItem = {
      ...description,
      status: 'available',
      phase: 'active',
      podUid: event.podUid,
      seq: event.seq,
      sentAt: event.sentAt,
      lastEvent: event.event,
      lastHeartbeatAt: heartbeatAt,
      freshUntil: freshUntil(event.source, heartbeatAt, settings),
      // A new pod is claimable at once. A constant (not the arrival time) keeps the record the
      // same whichever of the pod's events happens to arrive first.
      availableAt: 0,
      version,
      updatedAt: now,
      expiresAt: ttlSeconds(heartbeatAt, settings),
    };
    return { kind: 'write', item: withPhase(item, phaseOfEvent(event.event), now, settings) };
  }

  // advance: same pod, newer event. Claim fields and the claim-driven status stay as stored.
  const current = stored!;
  const lastHeartbeatAt = Math.max(current.lastHeartbeatAt, heartbeatAt);
  const { claimId, claimAttempt, claimedAt, leaseExpiresAt, status, availableAt } = current;
  const item: GameServerItem = {
    ...description,
    ...(claimId !== undefined ? { claimId } : {}),
    ...(claimAttempt !== undefined ? { claimAttempt } : {}),
    ...(claimedAt !== undefined ? { claimedAt } : {}),
    ...(leaseExpiresAt !== undefined ? { leaseExpiresAt } : {}),
    status,
    availableAt,
    phase: current.phase,
    podUid: current.podUid,
    seq: event.seq,
    sentAt: event.sentAt,
    lastEvent: event.event,
    lastHeartbeatAt,
    freshUntil: freshUntil(event.source, lastHeartbeatAt, settings),
    version,
    updatedAt: now,
    expiresAt: ttlSeconds(lastHeartbeatAt, settings),
  };
  return { kind: 'write', item: withPhase(item, laterPhase(current.phase, phaseOfEvent(event.event)), now, settings) };
}

/** The pod's self-description: every event carries it whole, and the newest one wins. */
function describe(event: GameServerLifecycleEvent, settings: LifecycleSettings) {
  return {
    endpoint: event.endpoint,
    region: event.region,
    node: event.node,
    source: event.source,
    ...(event.publicEndpoint !== undefined ? { publicEndpoint: event.publicEndpoint } : {}),
    ...(event.group !== undefined ? { group: event.group } : {}),
    ...(event.instanceId !== undefined ? { instanceId: event.instanceId } : {}),
    ...(event.lifecycle !== undefined ? { lifecycle: event.lifecycle } : {}),
    ...(event.labels !== undefined ? { labels: event.labels } : {}),
    ...(event.capacity !== undefined ? { capacity: event.capacity } : {}),
    ...(event.players !== undefined ? { players: event.players } : {}),
    ...availabilityKeys(event, settings.availabilityShards),
  };
}

/** Leaving the active phase takes the server out of the pool for good; the claim stays visible. */
function withPhase(item: GameServerItem, phase: Phase, now: number, settings: LifecycleSettings): GameServerItem {
  if (phase === 'active') return { ...item, phase };
  const status: GameServerStatus = phase;
  const ended = phase === 'terminated';
  return {
    ...item,
    phase,
    status,
    availableAt: NEVER,
    ...(ended ? { expiresAt: ttlSeconds(now, settings) } : {}),
  };
}
