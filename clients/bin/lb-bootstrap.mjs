#!/usr/bin/env node
// `lb-bootstrap` command of this package: runs clients/cli/lb-bootstrap.ts through tsx. Container images run the
// esbuild bundle instead (npm run build:clients -> dist/clients/lb-bootstrap.mjs), which needs no tsx.
import { register } from 'tsx/esm/api';

register();
await import('../cli/lb-bootstrap.ts');
