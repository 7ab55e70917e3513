import { Agent } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local/services';

/** Per-command counts of a DynamoDB client: how many round trips something really made. */
export interface CommandCounts {
  /** Commands sent, by DynamoDB API name (`UpdateItemCommand`, `TransactWriteItemsCommand`, ...). */
  byCommand: Record<string, number>;
  /** Commands sent (one per `send`, whatever the SDK did underneath). */
  commands: number;
  /** HTTP requests made (commands plus SDK retries). */
  httpRequests: number;
  /** Sum of `ScannedCount` over Query responses: the items DynamoDB read to answer. */
  itemsScanned: number;
  /**
   * Commands DynamoDB refused on their condition (ConditionalCheckFailedException), by API name:
   * a conditional UpdateItem refused is a claim write that lost its race (or an undo that found
   * the server no longer held), a PutItem refused a claim record that already existed.
   */
  refusedByCommand: Record<string, number>;
  /**
   * Single-item writes by the status they set (`UpdateItem → claimed`, `UpdateItem → available`,
   * `PutItem → leased`; `UpdateItem → –` when the write sets no status), read from the command's
   * own expression: tells a claim write from the undo of a half-won pair.
   */
  writesByStatus: Record<string, number>;
  /** The same, refused on their condition. */
  refusedByStatus: Record<string, number>;
}

/** Writes whose status they set is recorded (see CommandCounts.writesByStatus). */
const STATUS_WRITES: Record<string, string> = { UpdateItemCommand: 'UpdateItem', PutItemCommand: 'PutItem' };

/**
 * The status a single-item write sets, from its input as the document client gets it (values
 * not yet marshalled): PutItem's `Item.status`, or UpdateItem's `SET <#name of status> = :value`.
 */
export function statusWritten(commandName: string, input: unknown): string | undefined {
  const kind = STATUS_WRITES[commandName];
  if (!kind) return undefined;
  const command = (input ?? {}) as {
    Item?: { status?: unknown };
    UpdateExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  };
  if (kind === 'PutItem') return `${kind} → ${typeof command.Item?.status === 'string' ? command.Item.status : '–'}`;
  const names = Object.entries(command.ExpressionAttributeNames ?? {}).filter(([, name]) => name === 'status').map(([placeholder]) => placeholder);
  for (const placeholder of names) {
    const escaped = placeholder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const match = new RegExp(`${escaped}\\s*=\\s*(:[A-Za-z0-9_]+)`).exec(command.UpdateExpression ?? '');
    const value = match ? command.ExpressionAttributeValues?.[match[1]!] : undefined;
    if (typeof value === 'string') return `${kind} → ${value}`;
  }
  return `${kind} → –`;
}

const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const isConditionRefusal = (error: unknown) => (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

/**
 * Counts what a document client sends, by wrapping its middleware stack: one middleware at the
 * `initialize` step (once per command) and one at `deserialize` (once per HTTP attempt, i.e.
 * inside the SDK's retry loop). Nothing is estimated.
 */
export class CommandCounter {
  private byCommand = new Map<string, number>();
  private refusedByCommand = new Map<string, number>();
  private writesByStatus = new Map<string, number>();
  private refusedByStatus = new Map<string, number>();
  private commands = 0;
  private httpRequests = 0;
  private itemsScanned = 0;

  attach(ddb: DynamoDBDocumentClient): void {
    const stack = ddb.middlewareStack as unknown as {
      add(middleware: unknown, options: { step: string; name: string; priority?: string }): void;
    };
    stack.add(
      (next: (args: { input?: unknown }) => Promise<{ output?: { ScannedCount?: number } }>, context: { commandName?: string }) =>
        async (args: { input?: unknown }) => {
          const name = context.commandName ?? 'unknown';
          bump(this.byCommand, name);
          this.commands++;
          const status = statusWritten(name, args.input);
          if (status) bump(this.writesByStatus, status);
          try {
            const result = await next(args);
            if (typeof result.output?.ScannedCount === 'number') this.itemsScanned += result.output.ScannedCount;
            return result;
          } catch (error) {
            if (isConditionRefusal(error)) {
              bump(this.refusedByCommand, name);
              if (status) bump(this.refusedByStatus, status);
            }
            throw error;
          }
        },
      { step: 'initialize', name: 'benchCountCommands', priority: 'high' },
    );
    stack.add(
      (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
        this.httpRequests++;
        return next(args);
      },
      { step: 'deserialize', name: 'benchCountHttpRequests' },
    );
  }

  snapshot(): CommandCounts {
    return {
      byCommand: Object.fromEntries(this.byCommand),
      commands: this.commands,
      httpRequests: this.httpRequests,
      itemsScanned: this.itemsScanned,
      refusedByCommand: Object.fromEntries(this.refusedByCommand),
      writesByStatus: Object.fromEntries(this.writesByStatus),
      refusedByStatus: Object.fromEntries(this.refusedByStatus),
    };
  }
}

/** What happened between two snapshots. */
export function countsSince(before: CommandCounts, after: CommandCounts): CommandCounts {
  const delta = (a: Record<string, number> = {}, b: Record<string, number> = {}) => {
    const out: Record<string, number> = {};
    for (const [name, count] of Object.entries(b)) {
      const d = count - (a[name] ?? 0);
      if (d > 0) out[name] = d;
    }
    return out;
  };
  return {
    byCommand: delta(before.byCommand, after.byCommand),
    commands: after.commands - before.commands,
    httpRequests: after.httpRequests - before.httpRequests,
    itemsScanned: after.itemsScanned - before.itemsScanned,
    refusedByCommand: delta(before.refusedByCommand, after.refusedByCommand),
    writesByStatus: delta(before.writesByStatus, after.writesByStatus),
    refusedByStatus: delta(before.refusedByStatus, after.refusedByStatus),
  };
}

/**
 * A document client built like lib/deps.ts createDocumentClient (same marshalling, maxAttempts 3,
 * dummy local credentials) with one difference: a keep-alive socket pool of 256 instead of the
 * SDK's default 50, so that 64 concurrent callers in one process are not queued on sockets
 * (on AWS each Lambda instance has its own pool and serves one request at a time).
 */
export function createBenchDocumentClient(endpoint: string, counter?: CommandCounter): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: LOCAL_REGION,
    endpoint,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 3,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 1024 }) },
  });
  const ddb = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  counter?.attach(ddb);
  return ddb;
}
