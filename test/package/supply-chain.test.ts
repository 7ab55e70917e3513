import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

/**
 * What ships in the Lambda bundles is pinned and installs without running anything: exact
 * versions in package.json, a committed lockfile that agrees with it, no install script in any
 * production dependency, and every production dependency runnable on Node 20 (local) and 22 (AWS).
 * (Known vulnerabilities: `npm audit --omit=dev`, see SECURITY.md.)
 */

const root = new URL('../../', import.meta.url);
const readJson = async (path: string) => JSON.parse(await readFile(new URL(path, root), 'utf8'));

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  hasInstallScript?: boolean;
  engines?: { node?: string };
}

describe('supply chain', () => {
  it('pins every direct dependency to an exact version, and the lockfile (v3) agrees', async () => {
    const manifest = await readJson('package.json');
    const lock = await readJson('package-lock.json');
    expect(lock.lockfileVersion).toBe(3);
    for (const section of ['dependencies', 'devDependencies'] as const) {
      for (const [name, version] of Object.entries<string>(manifest[section] ?? {})) {
        expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
        expect(lock.packages[''][section]?.[name], `lockfile root ${name}`).toBe(version);
        expect(lock.packages[`node_modules/${name}`]?.version, `lockfile ${name}`).toBe(version);
      }
    }
  });

  it('needs no install script for any production dependency', async () => {
    const lock = await readJson('package-lock.json');
    const production = Object.entries<LockEntry>(lock.packages).filter(([path, entry]) => path !== '' && !entry.dev && !entry.devOptional);
    expect(production.length).toBeGreaterThan(0);
    expect(production.filter(([, entry]) => entry.hasInstallScript).map(([path]) => path)).toEqual([]);
  });

  it('uses no production dependency that needs a Node newer than 20', async () => {
    const lock = await readJson('package-lock.json');
    const tooNew = Object.entries<LockEntry>(lock.packages)
      .filter(([path, entry]) => path !== '' && !entry.dev && !entry.devOptional && entry.engines?.node)
      .filter(([, entry]) => {
        const minimum = /^>=?\s*v?(\d+)/.exec(entry.engines!.node!.trim());
        return minimum !== null && Number(minimum[1]) > 20;
      })
      .map(([path, entry]) => `${path} (${entry.engines!.node})`);
    expect(tooNew).toEqual([]);
  });
});
