import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layers of docs/ARCHITECTURE.md, checked on the source: every relative import of every
 * TypeScript file, resolved to a repository path. A rule names who may import whom; a test fails
 * with the offending edges.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FOLDERS = ['lib', 'functions', 'clients', 'schemas', 'bench', 'testkit', 'scripts'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** [importer, imported] as repository paths without extension (`lib/claims/claim`). */
const EDGES: Array<[string, string]> = FOLDERS.flatMap((folder) => sources(join(ROOT, folder))).flatMap((file) => {
  const from = relative(ROOT, file).replace(/\.ts$/, '');
  return [...readFileSync(file, 'utf8').matchAll(/(?:import|export)\s[^'";]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g)].map(
    ([, specifier]): [string, string] => [from, relative(ROOT, resolve(dirname(file), specifier!)).replace(/\.(c|m)?[jt]s$/, '')],
  );
});

const under = (path: string, ...prefixes: string[]) => prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
const offending = (from: (path: string) => boolean, forbidden: (path: string) => boolean) =>
  EDGES.filter(([a, b]) => from(a) && forbidden(b)).map(([a, b]) => `${a} -> ${b}`);

/**
 * The server library's layers, lowest first. A module may import its own layer's modules and
 * lower ones; within a layer, only its own folder (entities do not import each other).
 */
const LIB_LAYERS: string[][] = [
  ['lib/config', 'lib/local-credentials', 'lib/errors', 'lib/dynamo', 'lib/ownership', 'lib/dashboard-assets', 'lib/single-flight', 'lib/cached-readings', 'lib/backoff', 'lib/concurrency', 'lib/pods'],
  ['lib/deps', 'lib/messages', 'lib/auth'],
  ['lib/nodes', 'lib/load-balancers', 'lib/game-servers'],
  ['lib/claims', 'lib/ingestion', 'lib/notifications'],
  ['lib/http'],
];
const moduleOf = (path: string) => LIB_LAYERS.flat().find((module) => under(path, module));
const layerOf = (module: string) => LIB_LAYERS.findIndex((layer) => layer.includes(module));

describe('architecture: imports only point down', () => {
  it('finds the imports it checks', () => {
    expect(EDGES.filter(([a]) => a.startsWith('lib/')).length).toBeGreaterThan(100);
    expect(EDGES).toContainEqual(['functions/status-poller', 'lib/ingestion/process-batch']);
  });

  it('every lib/ module belongs to a layer', () => {
    const unplaced = [...new Set(EDGES.flatMap((edge) => edge).filter((path) => path.startsWith('lib/') && !moduleOf(path)))];
    expect(unplaced).toEqual([]);
  });

  it('lib/ modules import only their own module or a lower layer', () => {
    const upward = EDGES.filter(([a, b]) => a.startsWith('lib/') && b.startsWith('lib/'))
      .filter(([a, b]) => {
        const [from, to] = [moduleOf(a)!, moduleOf(b)!];
        return from !== to && layerOf(to) >= layerOf(from);
      })
      .map(([a, b]) => `${a} -> ${b}`);
    expect(upward).toEqual([]);
  });

  it('the server library imports none of the programs, tools or tests built on it', () => {
    expect(offending((a) => under(a, 'lib'), (b) => under(b, 'functions', 'scripts', 'bench', 'test', 'testkit', 'clients'))).toEqual([]);
  });

  it('schemas import only schemas', () => {
    expect(offending((a) => under(a, 'schemas'), (b) => !under(b, 'schemas'))).toEqual([]);
  });

  it('the pod clients import only themselves and the wire schemas', () => {
    expect(offending((a) => under(a, 'clients'), (b) => !under(b, 'clients', 'schemas'))).toEqual([]);
  });

  it('only the status poller runs ingestion among the functions', () => {
    expect(offending((a) => under(a, 'functions'), (b) => under(b, 'lib/ingestion'))).toEqual([
      'functions/status-poller -> lib/ingestion/process-batch',
    ]);
  });

  it('handlers import the library, schemas and the route registry, never each other (but actor) nor tools', () => {
    expect(offending((a) => under(a, 'functions'), (b) => under(b, 'scripts', 'bench', 'test', 'testkit', 'clients'))).toEqual([]);
    expect(offending((a) => under(a, 'functions'), (b) => under(b, 'functions') && b !== 'functions/actor')).toEqual([]);
  });

  it('the bench and the test kit never reach into the tests', () => {
    expect(offending((a) => under(a, 'bench', 'testkit'), (b) => under(b, 'test'))).toEqual([]);
    expect(offending((a) => under(a, 'testkit'), (b) => !under(b, 'testkit'))).toEqual([]);
  });
});
