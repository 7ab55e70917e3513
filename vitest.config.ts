import { defineConfig } from 'vitest/config';

const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          env,
          // A hang guard, not a speed target: property tests run thousands of cases and take
          // several times longer with every core busy (npm run test:stress).
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/setup/global-setup.ts'],
          env,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          env,
          // Each file starts its own local stack (and game servers, load balancer, nginx): one at a time.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          env,
          // beforeAll runs `serverless package` (esbuild bundles included), under its own hang guard.
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          env,
          // Runs `scripts/chaos/run.ts --quick` (its own local services and fault proxy) once in beforeAll.
          testTimeout: 30_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: 'bench',
          include: ['test/bench/**/*.test.ts'],
          env,
          // Runs `bench/run.ts --quick` (its own local services) once in beforeAll: a few minutes on a
          // loaded 2-core machine (its beforeAll carries its own hang guard).
          testTimeout: 30_000,
          hookTimeout: 170_000,
        },
      },
    ],
  },
});
