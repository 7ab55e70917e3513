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
}

/**
 * Counts what a document client sends, by wrapping its middleware stack: one middleware at the
 * `initialize` step (once per command) and one at `deserialize` (once per HTTP attempt, i.e.
 * inside the SDK's retry loop). Nothing is estimated.
 */
export class CommandCounter {
  private byCommand = new Map<string, number>();
  private commands = 0;
  private httpRequests = 0;
  private itemsScanned = 0;

  attach(ddb: DynamoDBDocumentClient): void {
    const stack = ddb.middlewareStack as unknown as {
      add(middleware: unknown, options: { step: string; name: string; priority?: string }): void;
    };
    stack.add(
      (next: (args: unknown) => Promise<{ output?: { ScannedCount?: number } }>, context: { commandName?: string }) =>
        async (args: unknown) => {
          const name = context.commandName ?? 'unknown';
          this.byCommand.set(name, (this.byCommand.get(name) ?? 0) + 1);
          this.commands++;
          const result = await next(args);
          if (typeof result.output?.ScannedCount === 'number') this.itemsScanned += result.output.ScannedCount;
          return result;
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
    };
  }
}

/** What happened between two snapshots. */
export function countsSince(before: CommandCounts, after: CommandCounts): CommandCounts {
  const byCommand: Record<string, number> = {};
  for (const [name, count] of Object.entries(after.byCommand)) {
    const delta = count - (before.byCommand[name] ?? 0);
    if (delta > 0) byCommand[name] = delta;
  }
  return {
    byCommand,
    commands: after.commands - before.commands,
    httpRequests: after.httpRequests - before.httpRequests,
    itemsScanned: after.itemsScanned - before.itemsScanned,
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
