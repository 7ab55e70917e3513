import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

/**
 * What ships in the Lambda bundles is pinned and installs without running anything: exact
 * versions in package.json, a committed lockfile that agrees with it, no install script in any
 * production dependency, and every production dependency runnable on Node 20 (local) and 22 (AWS).
 * No install script runs at all (.npmrc: ignore-scripts), so no script of ours may depend on a
 * pre/post hook, which ignore-scripts skips too.
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

  it('.npmrc turns install scripts off for every install (npm ci, npm install, the image build)', async () => {
    const settings = (await readFile(new URL('.npmrc', root), 'utf8'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith(';'))
      .map((line) => line.split('=').map((part) => part.trim()));
    expect(settings).toContainEqual(['ignore-scripts', 'true']);
  });

  it('skips the install scripts of exactly these dev dependencies (a new one fails here, to be looked at)', async () => {
    const lock = await readJson('package-lock.json');
    const withScripts = Object.entries<LockEntry>(lock.packages).filter(([, entry]) => entry.hasInstallScript);
    expect(withScripts.map(([path, entry]) => [path, entry.dev === true])).toEqual([
      ['node_modules/@parcel/watcher', true],
      ['node_modules/aws-sdk', true],
      ['node_modules/es5-ext', true],
      ['node_modules/esbuild', true],
      ['node_modules/serverless', true],
    ]);
  });

  it('has no script that relies on a pre/post hook or an install lifecycle script (ignore-scripts skips them)', async () => {
    const manifest = await readJson('package.json');
    const scripts = Object.keys(manifest.scripts);
    const lifecycle = ['install', 'preinstall', 'postinstall', 'prepare', 'prepack', 'postpack', 'prepublish', 'prepublishOnly', 'publish', 'postpublish', 'dependencies'];
    const hooks = scripts.filter((name) => lifecycle.includes(name) || scripts.some((other) => name === `pre${other}` || name === `post${other}`));
    expect(hooks).toEqual([]);
    // npm's own commands have hooks too, even without a script of that name.
    expect(scripts.filter((name) => /^(pre|post)(test|start|stop|restart|install|version)$/.test(name))).toEqual([]);
    // What used to be `pretest` runs as part of `test` itself.
    expect(manifest.scripts.test).toBe('bash scripts/ensure-system-deps.sh && tsc --noEmit && tsc --noEmit -p dashboard && vitest run');
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
