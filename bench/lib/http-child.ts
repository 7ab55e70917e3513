// The local HTTP server (scripts/local/http-server.ts) in a process of its own, as `npm start` runs
// it: every route of the catalogue on Lambda-like instances (one request per instance at a time,
// sharing this process's deps). Started by bench/lib/http-process.ts; reports its DynamoDB command
// counts over IPC.
import '../../scripts/local/env-defaults';
import { loadConfig } from '../../lib/config';
import { startHttpServer } from '../../scripts/local/http-server';
import { CommandCounter, createBenchDocumentClient } from './ddb';
import { silentDeps } from './env';

const vars = JSON.parse(process.env.BENCH_STAGE_ENV ?? '{}') as Record<string, string>;
const config = loadConfig(vars);
const counter = new CommandCounter();
const deps = silentDeps(config, createBenchDocumentClient(config.endpoints.dynamodb!, counter));
const http = await startHttpServer(deps, { port: 0, host: '127.0.0.1' });

process.on('message', (message: { type: string; id?: number }) => {
  if (message.type === 'counts') process.send?.({ type: 'counts', id: message.id, counts: counter.snapshot() });
  if (message.type === 'instances') process.send?.({ type: 'instances', id: message.id, instances: http.instances() });
});
const stop = async () => {
  await http.close();
  deps.ddb.destroy();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
process.send?.({ type: 'ready', url: http.url });
