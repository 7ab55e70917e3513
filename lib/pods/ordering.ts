import type { LifecycleEventName } from '../../schemas/messages';

/** Where a pod is in its life. Phases only move forward: active -> draining -> terminated. */
export type Phase = 'active' | 'draining' | 'terminated';

const PHASE_RANK: Record<Phase, number> = { active: 0, draining: 1, terminated: 2 };

export function phaseOfEvent(event: LifecycleEventName): Phase {
  switch (event) {
    case 'ready':
    case 'heartbeat':
      return 'active';
    case 'draining':
      return 'draining';
    case 'terminating':
    case 'terminated':
      return 'terminated';
  }
}

export function laterPhase(a: Phase, b: Phase): Phase {
  return PHASE_RANK[a] >= PHASE_RANK[b] ? a : b;
}

/** The ordering facts a stored record keeps about the pod it describes. */
export interface StoredPodState {
  podUid: string;
  seq: number;
  /** sentAt (epoch ms) of the pod's highest-seq event applied so far. */
  sentAt: number;
  phase: Phase;
}

export interface IncomingPodEvent {
  podUid: string;
  seq: number;
  sentAt: number;
  event: LifecycleEventName;
}

/**
 * How an event relates to the stored record of its endpoint:
 * - `replace`: no record, or the record belongs to an older pod: the event starts a new record.
 * - `advance`: same pod, higher seq: the event's description replaces the stored one and the
 *   phase becomes the later of the two.
 * - `escalate`: same pod, older event, but it carries a later phase (a `draining` that arrives
 *   after a newer heartbeat): only the phase moves forward.
 * - `ignore`: a duplicate, an older event with nothing new, or an event of an older pod.
 *
 * The state is therefore (newest event's description, latest phase), a join that is the same
 * for every order and duplication of a pod's events. Pods reusing an endpoint are ordered by
 * sentAt (ties broken by podUid): a pod's events all postdate those of the pod it replaced.
 */
export type OrderingDecision = 'replace' | 'advance' | 'escalate' | 'ignore';

export function decideOrdering(stored: StoredPodState | undefined, incoming: IncomingPodEvent): OrderingDecision {
  if (!stored) return 'replace';
  if (stored.podUid !== incoming.podUid) {
    const newerPod =
      incoming.sentAt > stored.sentAt || (incoming.sentAt === stored.sentAt && incoming.podUid > stored.podUid);
    return newerPod ? 'replace' : 'ignore';
  }
  if (incoming.seq > stored.seq) return 'advance';
  return PHASE_RANK[phaseOfEvent(incoming.event)] > PHASE_RANK[stored.phase] ? 'escalate' : 'ignore';
}
