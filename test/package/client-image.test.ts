import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { allContainers, podTemplates } from '../fixtures/k8s';

/**
 * The pod clients' image (deploy/k8s/image/Dockerfile) builds what the pods run: the build stage
 * copies every source the bundles are made of and nothing else, bundles for the Node of the base
 * image, and the image runs as the numeric user the manifests name. No Docker engine here: the
 * Dockerfile is read, and the bundle's inputs come from esbuild itself.
 */

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFile(new URL(path, root), 'utf8');

interface Instruction {
  stage: number;
  op: string;
  args: string;
}

/** Dockerfile instructions (continuation lines joined, comments dropped), with their stage. */
function instructions(dockerfile: string): Instruction[] {
  let stage = -1;
  return dockerfile
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      if (op!.toUpperCase() === 'FROM') stage++;
      return { stage, op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

async function clientBuild() {
  const script: string = JSON.parse(await read('package.json')).scripts['build:clients'];
  const entryPoints = script.match(/clients\/cli\/[\w-]+\.ts/g) ?? [];
  const target = /--target=(node\d+)/.exec(script)?.[1];
  return { entryPoints, target };
}

describe('the clients image', () => {
  it('bundles for the Node major of its base image, a current LTS', async () => {
    const { target } = await clientBuild();
    const steps = instructions(await read('deploy/k8s/image/Dockerfile'));
    const base = /^NODE_IMAGE=node:(\d+)-bookworm-slim$/.exec(steps.find((s) => s.op === 'ARG')!.args);
    expect(base).not.toBeNull();
    expect(steps.filter((s) => s.op === 'FROM').map((s) => s.args)).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE}']);
    expect(target).toBe(`node${base![1]}`);
    expect(Number(base![1]) % 2).toBe(0);
    expect(Number(base![1])).toBeGreaterThanOrEqual(22);
  });

  it('copies exactly the sources the bundles are built from into the build stage, after installing with npm ci', async () => {
    const { entryPoints, target } = await clientBuild();
    expect(entryPoints).toEqual(['clients/cli/gs-agent.ts', 'clients/cli/lb-bootstrap.ts', 'clients/cli/node-drain-watcher.ts']);
    const result = await build({
      absWorkingDir: fileURLToPath(root),
      entryPoints,
      bundle: true,
      platform: 'node',
      target,
      format: 'esm',
      outdir: 'dist/clients',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const sources = Object.keys(result.metafile.inputs).filter((path) => !path.split('/').includes('node_modules'));

    const steps = instructions(await read('deploy/k8s/image/Dockerfile')).filter((s) => s.stage === 0);
    expect(steps.filter((s) => s.op === 'RUN').map((s) => s.args)).toEqual(['npm ci --no-audit --no-fund', 'npm run build:clients']);
    const [install, ...copies] = steps.filter((s) => s.op === 'COPY').map((s) => s.args.split(' ').slice(0, -1));
    expect(install).toEqual(['package.json', 'package-lock.json', '.npmrc']);
    const copied = copies.flat().filter((source) => source !== 'tsconfig.json');
    const includes = (source: string, path: string) => (source.endsWith('/') ? path.startsWith(source) : path === source);
    expect(sources.filter((path) => !copied.some((source) => includes(source, path)))).toEqual([]);
    // ...and nothing the bundles do not use (a directory counts when one of its files is used).
    expect(copied.filter((source) => !sources.some((path) => includes(source, path)))).toEqual([]);
  });

  it('runs as the numeric non-root user the pods run as, with the bundles and no node_modules', async () => {
    const steps = instructions(await read('deploy/k8s/image/Dockerfile')).filter((s) => s.stage === 1);
    expect(steps.filter((s) => s.op === 'USER').map((s) => s.args)).toEqual(['10001:10001']);
    expect(steps.filter((s) => s.op === 'COPY').map((s) => s.args)).toEqual([
      '--from=build /src/dist/clients/ /opt/gs-inventory/',
      'deploy/k8s/image/entrypoint.sh /usr/local/bin/gs-inventory-client',
    ]);
    const clientUsers = podTemplates().flatMap((t) =>
      allContainers(t.spec)
        .filter((c) => c.image.startsWith('registry.example.com/gs-inventory-clients'))
        .map((c) => c.securityContext?.runAsUser ?? t.spec.securityContext?.runAsUser),
    );
    expect(clientUsers.length).toBeGreaterThan(0);
    expect(new Set(clientUsers)).toEqual(new Set([10001]));
  });

  it('has a build context without dependencies, build output, history, test and benchmark results or secrets', async () => {
    const ignored = (await read('.dockerignore'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const pattern of ['.git', 'node_modules', '**/node_modules', 'dist', '.serverless', '.esbuild', '.local-data', 'coverage', 'bench/results', '*.log', '.env', '.env.*']) {
      expect(ignored).toContain(pattern);
    }
    // Nothing the build copies is ignored.
    const copied = instructions(await read('deploy/k8s/image/Dockerfile'))
      .filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'))
      .flatMap((s) => s.args.split(' ').slice(0, -1));
    for (const source of copied) {
      for (const pattern of ignored) {
        const hit = pattern.startsWith('*') ? source.endsWith(pattern.slice(1)) : source === pattern || source.startsWith(`${pattern}/`);
        expect(hit, `${source} vs ${pattern}`).toBe(false);
      }
    }
  });
});
