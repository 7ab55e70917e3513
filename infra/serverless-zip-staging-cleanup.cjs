// Local serverless plugin: removes the zip staging directories serverless-esbuild leaves behind.
//
// serverless-esbuild 1.57.x copies each artifact into <os.tmpdir()>/<artifact>-<pid>-<ms>-<8 hex>
// before zipping it, then "removes" that directory with a non-recursive rm, which always fails on
// the non-empty directory and is silently ignored (floydspace/serverless-esbuild#589). Every
// package or deploy would leave a copy of every bundle (~5 MB per function) in the temp directory.
// Runs after serverless-esbuild's own hooks (it is listed after it in serverless.yml) and only
// removes directories named after this service's artifacts and this process's pid.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

class ZipStagingCleanup {
  constructor(serverless) {
    this.serverless = serverless;
    const cleanup = () => this.removeStagingDirectories();
    this.hooks = {
      'after:package:createDeploymentArtifacts': cleanup,
      'after:deploy:function:packageFunction': cleanup,
    };
  }

  removeStagingDirectories() {
    const service = this.serverless.service;
    // One artifact per function when packaged individually, else one named after the service.
    const artifacts = new Set([service.service, ...service.getAllFunctions()]);
    const staging = new RegExp(`^(.+)-${process.pid}-\\d+-[0-9a-f]{8}$`);
    const tmp = os.tmpdir();
    for (const entry of fs.readdirSync(tmp, { withFileTypes: true })) {
      const match = staging.exec(entry.name);
      if (entry.isDirectory() && match && artifacts.has(match[1])) {
        fs.rmSync(path.join(tmp, entry.name), { recursive: true, force: true });
      }
    }
  }
}

module.exports = ZipStagingCleanup;
