#!/usr/bin/env node
// `gs-agent` command of this package: runs clients/cli/gs-agent.ts through tsx. Container images run the
// esbuild bundle instead (npm run build:clients -> dist/clients/gs-agent.mjs), which needs no tsx.
import { register } from 'tsx/esm/api';

register();
await import('../cli/gs-agent.ts');
