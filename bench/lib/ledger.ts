import { BatchGetCommand, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface LedgerCheck {
  /** Wins recorded (each win: one claim id holding one or more endpoints). */
  wins: number;
  /** Distinct endpoints handed out. */
  distinctEndpoints: number;
  /** Endpoints handed out more than once, counted once per extra hand-out. */
  doubleClaims: number;
  /** Hand-outs the table does not back: the record holds another claim id, or another status. */
  tableDisagreements: number;
  /** Pairs (or larger sets) whose servers share a node although distinct nodes were asked for. */
  sameNodeSets: number;
  /**
   * Wins whose claim record (claims table) is missing, names other endpoints, or carries another
   * attempt than the servers' records (only checked for routes that keep claim records).
   */
  recordDisagreements: number;
}

/**
 * Every win a caller was told about, checked afterwards against the table: each endpoint must
 * have been handed out once, and its record must hold the winner's claim id with the expected
 * status. Nothing is sampled.
 */
export class ClaimLedger {
  private readonly holders = new Map<string, string[]>();
  private readonly claims = new Map<string, string[]>();
  private wins = 0;
  private sameNodeSets = 0;

  record(claimId: string, servers: Array<{ endpoint: string; node?: string }>, distinctNodes = false): void {
    this.wins++;
    this.claims.set(claimId, servers.map((s) => s.endpoint));
    for (const { endpoint } of servers) {
      const list = this.holders.get(endpoint);
      if (list) list.push(claimId);
      else this.holders.set(endpoint, [claimId]);
    }
    if (distinctNodes && new Set(servers.map((s) => s.node)).size !== servers.length) this.sameNodeSets++;
  }

  get distinctEndpoints(): number {
    return this.holders.size;
  }

  /**
   * Reads every won endpoint back (and, with `claimsTable`, every winner's claim record), with
   * consistent reads, and counts what does not match.
   */
  async check(admin: DynamoDBDocumentClient, table: string, expectedStatus: string, claimsTable?: string): Promise<LedgerCheck> {
    const stored = await readAll(admin, table, 'endpoint', [...this.holders.keys()], 'endpoint, claimId, claimAttempt, #s');
    let doubleClaims = 0;
    let tableDisagreements = 0;
    for (const [endpoint, claimIds] of this.holders) {
      doubleClaims += claimIds.length - 1;
      const record = stored.get(endpoint);
      for (const claimId of claimIds) {
        if (record?.claimId !== claimId || record.status !== expectedStatus) tableDisagreements++;
      }
    }
    let recordDisagreements = 0;
    if (claimsTable) {
      const records = await readAll(admin, claimsTable, 'claimId', [...this.claims.keys()], 'claimId, endpoints, attemptId, #s');
      for (const [claimId, endpoints] of this.claims) {
        const record = records.get(claimId);
        const named = new Set((record?.endpoints as string[] | undefined) ?? []);
        const agrees =
          record !== undefined &&
          named.size === endpoints.length &&
          endpoints.every((endpoint) => named.has(endpoint)) &&
          (record.attemptId === undefined || endpoints.every((endpoint) => stored.get(endpoint)?.claimAttempt === record.attemptId));
        if (!agrees) recordDisagreements++;
      }
    }
    return { wins: this.wins, distinctEndpoints: this.holders.size, doubleClaims, tableDisagreements, sameNodeSets: this.sameNodeSets, recordDisagreements };
  }
}

/** Consistent BatchGetItem of every key, 100 per request, unprocessed keys retried. */
async function readAll(admin: DynamoDBDocumentClient, table: string, keyName: string, keys: string[], projection: string): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < keys.length; i += 100) {
    let batch: Array<Record<string, unknown>> | undefined = keys.slice(i, i + 100).map((key) => ({ [keyName]: key }));
    while (batch && batch.length > 0) {
      const result: BatchGetCommandOutput = await admin.send(
        new BatchGetCommand({
          RequestItems: { [table]: { Keys: batch, ConsistentRead: true, ProjectionExpression: projection, ExpressionAttributeNames: { '#s': 'status' } } },
        }),
      );
      for (const item of result.Responses?.[table] ?? []) found.set(item[keyName] as string, item);
      batch = result.UnprocessedKeys?.[table]?.Keys;
    }
  }
  return found;
}

export interface CycleCheck extends LedgerCheck {
  /** Wins of a server whose previous claim (of this run) had not started its release. */
  heldWhenWon: number;
  /** Releases that did not return exactly the servers their claim won. */
  releaseMismatches: number;
}

/**
 * The ledger of claim -> release cycles, where a server is won many times over, once per claim:
 * a double claim is a win of a server that another claim still holds. Every win marks its
 * servers held; the release marks them releasing when sent and free when it answered. A win of a
 * held server (its claim's release not even sent) is a double claim; a win while the release is
 * in flight is not (the release may have committed). The release must return exactly the claim's
 * servers: it returns only servers still held by the claim's attempt, so a server that someone
 * else took in between shows up here too. Afterwards every claim record must say released with
 * those servers, and every server must be free again (or held by the claim whose release failed).
 */
export class CycleLedger {
  private readonly holder = new Map<string, { claimId: string; releasing: boolean }>();
  private readonly claims = new Map<string, string[]>();
  private readonly released = new Set<string>();
  private wins = 0;
  private sameNodeSets = 0;
  private heldWhenWon = 0;
  private releaseMismatches = 0;

  won(claimId: string, servers: Array<{ endpoint: string; node?: string }>, distinctNodes = false): void {
    this.wins++;
    this.claims.set(claimId, servers.map((s) => s.endpoint));
    for (const { endpoint } of servers) {
      const current = this.holder.get(endpoint);
      if (current && !current.releasing) this.heldWhenWon++;
      this.holder.set(endpoint, { claimId, releasing: false });
    }
    if (distinctNodes && new Set(servers.map((s) => s.node)).size !== servers.length) this.sameNodeSets++;
  }

  releasing(claimId: string): void {
    for (const endpoint of this.claims.get(claimId) ?? []) {
      const current = this.holder.get(endpoint);
      if (current?.claimId === claimId) current.releasing = true;
    }
  }

  /** The release answered with these servers returned to the pool. */
  releasedWith(claimId: string, returned: string[]): void {
    const won = this.claims.get(claimId) ?? [];
    const back = new Set(returned);
    if (back.size !== won.length || !won.every((endpoint) => back.has(endpoint))) this.releaseMismatches++;
    this.released.add(claimId);
    for (const endpoint of won) if (this.holder.get(endpoint)?.claimId === claimId) this.holder.delete(endpoint);
  }

  get distinctEndpoints(): number {
    return new Set([...this.claims.values()].flat()).size;
  }

  async check(admin: DynamoDBDocumentClient, table: string, claimsTable: string): Promise<CycleCheck> {
    const endpoints = [...new Set([...this.claims.values()].flat())];
    const stored = await readAll(admin, table, 'endpoint', endpoints, 'endpoint, claimId, claimAttempt, #s');
    let tableDisagreements = 0;
    for (const endpoint of endpoints) {
      const record = stored.get(endpoint);
      const holder = this.holder.get(endpoint);
      const agrees = holder ? record?.claimId === holder.claimId : record?.status === 'available' && record.claimId === undefined;
      if (!agrees) tableDisagreements++;
    }
    const records = await readAll(admin, claimsTable, 'claimId', [...this.claims.keys()], 'claimId, endpoints, releasedEndpoints, #s');
    let recordDisagreements = 0;
    const sameSet = (a: unknown, b: string[]) => {
      const named = new Set((a as string[] | undefined) ?? []);
      return named.size === b.length && b.every((endpoint) => named.has(endpoint));
    };
    for (const [claimId, won] of this.claims) {
      const record = records.get(claimId);
      const agrees =
        record !== undefined &&
        sameSet(record.endpoints, won) &&
        (!this.released.has(claimId) || (record.status === 'released' && sameSet(record.releasedEndpoints, won)));
      if (!agrees) recordDisagreements++;
    }
    return {
      wins: this.wins,
      distinctEndpoints: endpoints.length,
      doubleClaims: this.heldWhenWon + this.releaseMismatches,
      tableDisagreements,
      sameNodeSets: this.sameNodeSets,
      recordDisagreements,
      heldWhenWon: this.heldWhenWon,
      releaseMismatches: this.releaseMismatches,
    };
  }
}
