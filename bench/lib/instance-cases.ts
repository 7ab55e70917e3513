// Names of the instances scenario's rows and floors (bench/scenarios/instances.ts), apart from the
// scenario itself so that the report can use them without loading any function handler.
import { FLOOR_TWO_WRITES } from '../scenarios/floor';

/** The rows of the instances scenario (RunRow.case), each compared with its own floor. */
export const INSTANCE_CASES = {
  count1: 'count 1',
  pairs: 'pairs (count 2, distinct nodes)',
  smallPool: 'small pool, claim → release',
  largePool: 'large pool',
} as const;

/** A pair's writes: two conditional UpdateItems and the claim record's PutItem, sent together. */
export const FLOOR_PAIR = "UpdateItem ×2 + PutItem, sent together (a pair's 3 writes)";
/** One claim -> release cycle with nothing in its way (instances.ts cycleFloor). */
export const FLOOR_CYCLE = "cycle: UpdateItem + PutItem together (a claim's writes), then release-claim; one server per caller";

/** RunRow.parts of the cycle floor: the claim's two writes, and the release after them. */
export const CYCLE_PART_CLAIM = 'claim writes';
export const CYCLE_PART_RELEASE = 'release';

/** The floor each row is compared with (its adjacent UpdateItem floor gives the second ratio). */
export const CASE_FLOOR: Record<string, string> = {
  [INSTANCE_CASES.count1]: FLOOR_TWO_WRITES,
  [INSTANCE_CASES.pairs]: FLOOR_PAIR,
  [INSTANCE_CASES.smallPool]: FLOOR_CYCLE,
  [INSTANCE_CASES.largePool]: FLOOR_TWO_WRITES,
};
