import type { LoadBalancerItem } from '../../schemas/items';
import type { LoadBalancerLifecycleEvent } from '../pods/events';
import { freshUntil, liveRecordTtl, ttlSeconds, type LivenessSettings } from '../pods/liveness';
import { decideOrdering, laterPhase, phaseOfEvent } from '../pods/ordering';

export type LoadBalancerDecision =
  | { kind: 'write'; item: LoadBalancerItem }
  | { kind: 'ignore'; reason: 'duplicate-or-older' | 'older-pod' };

/**
 * Decides what a load-balancer lifecycle event does to its record (pure). Same ordering rules as
 * game servers (see decideOrdering); the status is the pod's phase: active -> draining ->
 * terminated, never backwards for one pod. The newest event's targets are the LB's upstreams.
 */
export function decideLoadBalancerWrite(
  stored: LoadBalancerItem | undefined,
  event: LoadBalancerLifecycleEvent,
  now: number,
  settings: LivenessSettings,
): LoadBalancerDecision {
  const ordering = decideOrdering(stored, event);
  if (ordering === 'ignore') {
    return { kind: 'ignore', reason: stored && stored.podUid !== event.podUid ? 'older-pod' : 'duplicate-or-older' };
  }
  const version = (stored?.version ?? 0) + 1;
  const eventPhase = phaseOfEvent(event.event);

  if (ordering === 'escalate') {
    const current = stored!;
    const phase = laterPhase(current.phase, eventPhase);
    return {
      kind: 'write',
      item: {
        ...current,
        phase,
        status: phase,
        version,
        updatedAt: now,
        ...(phase === 'terminated' ? { expiresAt: ttlSeconds(now, settings) } : {}),
      },
    };
  }

  const heartbeatAt = Math.min(event.sentAt, now);
  const lastHeartbeatAt = ordering === 'advance' ? Math.max(stored!.lastHeartbeatAt, heartbeatAt) : heartbeatAt;
  const phase = ordering === 'advance' ? laterPhase(stored!.phase, eventPhase) : eventPhase;
  return {
    kind: 'write',
    item: {
      endpoint: event.endpoint,
      region: event.region,
      node: event.node,
      source: event.source,
      ...(event.publicEndpoint !== undefined ? { publicEndpoint: event.publicEndpoint } : {}),
      ...(event.instanceId !== undefined ? { instanceId: event.instanceId } : {}),
      ...(event.labels !== undefined ? { labels: event.labels } : {}),
      targets: event.targets ?? [],
      status: phase,
      phase,
      podUid: event.podUid,
      seq: event.seq,
      sentAt: event.sentAt,
      lastEvent: event.event,
      lastHeartbeatAt,
      freshUntil: freshUntil(event.source, lastHeartbeatAt, settings),
      fleet: 'lb',
      version,
      updatedAt: now,
      ...(phase === 'terminated' ? { expiresAt: ttlSeconds(now, settings) } : liveRecordTtl(event.source, lastHeartbeatAt, settings)),
    },
  };
}
