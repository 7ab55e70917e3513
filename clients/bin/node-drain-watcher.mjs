#!/usr/bin/env node
// `node-drain-watcher` command of this package: runs clients/cli/node-drain-watcher.ts through tsx. Container images run the
// esbuild bundle instead (npm run build:clients -> dist/clients/node-drain-watcher.mjs), which needs no tsx.
import { register } from 'tsx/esm/api';

register();
await import('../cli/node-drain-watcher.ts');
