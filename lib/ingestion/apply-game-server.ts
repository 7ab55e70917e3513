import type { GameServerItem, NodeItem } from '../../schemas/items';
import type { Deps } from '../deps';
import { getGameServer, putGameServerIfVersion } from '../game-servers/records';
import { decideGameServerEvent, decideNodeConditionWrite, lifecycleSettings, type LifecycleSettings, type NodeReading } from '../game-servers/lifecycle';
import { getNode } from '../nodes/repo';
import { drainCondition } from '../nodes/state';
import type { GameServerLifecycleEvent } from '../pods/events';
import type { ApplyOutcome } from './apply-lifecycle-event';
import { ContentionError, MAX_ATTEMPTS, writeOptimistically } from './optimistic-write';

/** Node records already read (e.g. for a whole batch): a record, or null for a node without one. */
export type NodeRecords = Map<string, NodeItem | null>;

/**
 * Applies one game-server lifecycle event with the optimistic-write loop: read the endpoint's
 * record, decide (decideGameServerEvent, which also says which node record it needs, from
 * `nodes` when given, else read), write it only if the record is unchanged since the read.
 * Durable when this resolves. Throws ContentionError after MAX_ATTEMPTS lost races.
 *
 * After a write that makes the record describe a new pod, the node record is read again, since a
 * drain applied at that moment may not have found the record (see apply-node-event.ts); an
 * existing record needs no re-read, as the drain writes it (and so bumps its version, failing
 * this write).
 */
export async function applyGameServerEvent(deps: Deps, event: GameServerLifecycleEvent, nodes: NodeRecords = new Map()): Promise<ApplyOutcome> {
  const settings = lifecycleSettings(deps.config);
  let reading: NodeReading | undefined;
  return writeOptimistically<GameServerItem | undefined, ApplyOutcome>({
    subject: `${event.kind} ${event.endpoint}`,
    read: () => getGameServer(deps, event.endpoint),
    decide: async (stored, attempt) => {
      reading = undefined;
      let node: NodeItem | undefined;
      for (;;) {
        const decision = decideGameServerEvent(stored, event, deps.clock(), settings, reading);
        switch (decision.kind) {
          case 'ignore':
            return { kind: 'done', result: { outcome: 'ignored', reason: decision.reason, attempts: attempt } };
          case 'read-node':
          case 'reread-node': {
            if (decision.kind === 'reread-node') nodes.delete(decision.node);
            node = await readNode(deps, nodes, decision.node);
            reading = { node: decision.node, ...drainCondition(node), reread: decision.kind === 'reread-node' };
            continue;
          }
          case 'write': {
            const { item, recheckNode } = decision;
            return {
              kind: 'put',
              put: () => putGameServerIfVersion(deps, item, stored?.version),
              written: async () => {
                const status = recheckNode ? await recheckNodeAfterWrite(deps, settings, nodes, item, node?.version) : item.status;
                return { outcome: 'applied', status, attempts: attempt };
              },
            };
          }
        }
      }
    },
    // A node event may have been applied meanwhile: read its record again.
    lostRace: () => {
      if (reading) nodes.delete(reading.node);
    },
  });
}

async function readNode(deps: Deps, nodes: NodeRecords, name: string): Promise<NodeItem | undefined> {
  if (!nodes.has(name)) nodes.set(name, (await getNode(deps, name)) ?? null);
  return nodes.get(name) ?? undefined;
}

/**
 * After creating a record: reads the node record again and, while it differs from the one the
 * record was decided with, brings the record in line (write, then read the other side's record:
 * see applyNodeEvent). Returns the record's status in the end.
 */
async function recheckNodeAfterWrite(
  deps: Deps,
  settings: LifecycleSettings,
  nodes: NodeRecords,
  written: GameServerItem,
  usedVersion: number | undefined,
): Promise<string> {
  let item = written;
  let checkedAgainst = usedVersion;
  let lostRace = false;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const latest = await getNode(deps, item.node);
    nodes.set(item.node, latest ?? null);
    if (!lostRace && latest?.version === checkedAgainst) return item.status;
    checkedAgainst = latest?.version;
    lostRace = false;
    const current = await getGameServer(deps, item.endpoint);
    // Another pod took the endpoint over, or moved it: its own event takes care of it.
    if (!current || current.podUid !== item.podUid || current.node !== item.node) return current?.status ?? item.status;
    const fix = decideNodeConditionWrite(current, drainCondition(latest), deps.clock(), settings);
    if (fix.kind === 'ignore') return current.status;
    // Written: read the node record once more (after this write); lost: look at both again.
    if ((await putGameServerIfVersion(deps, fix.item, current.version)) === 'written') item = fix.item;
    else lostRace = true;
  }
  throw new ContentionError(`gave up on ${written.endpoint} while checking node ${written.node}`);
}
