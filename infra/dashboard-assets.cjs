// Builds the fleet dashboard (dashboard/: Preact + htm views, uPlot charts) with esbuild into one
// script and one style sheet with content-hashed names, and the page that loads them. The
// dashboard routes (functions/dashboard.ts, functions/dashboard-asset.ts) serve them from their
// own bundle: serverless.yml passes the build to esbuild's `define` as the constant
// __DASHBOARD_ASSETS__ (`${file(./infra/dashboard-assets.cjs):define}`); the local HTTP server
// builds them at start and sets the same global (scripts/local/http-server.ts). Nothing is
// fetched at run time: no CDN, the page passes its route's Content-Security-Policy.
// Plain CommonJS, like the other infra files: serverless.yml loads it without a TypeScript loader.
'use strict';

const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { join, extname } = require('node:path');

const ROOT = join(__dirname, '..');
const CONTENT_TYPES = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
/** The page's placeholders, replaced by the assets' URLs. */
const PLACEHOLDERS = { '.js': '{{APP_JS}}', '.css': '{{APP_CSS}}' };
/** Where the API serves the assets (infra/functions.cjs: dashboard-asset). */
const ASSET_PATH = '/dashboard/assets/';

/**
 * `{ html, assets: { 'app.<hash16>.js': { contentType, body }, 'app.<hash16>.css': ... } }`.
 * Minified, ES2022 (every browser of the last three years), licences of the bundled libraries kept.
 */
function buildDashboardAssets(root = ROOT) {
  // esbuild is a build-time dependency: required here, never from a function's bundle.
  const { buildSync } = require('esbuild');
  const result = buildSync({
    absWorkingDir: root,
    entryPoints: { app: 'dashboard/src/main.ts', 'app-style': 'dashboard/src/styles.css' },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    write: false,
    outdir: 'out',
    logLevel: 'silent',
  });
  let html = readFileSync(join(root, 'dashboard/index.html'), 'utf8');
  const assets = {};
  for (const file of result.outputFiles) {
    const extension = extname(file.path);
    if (!CONTENT_TYPES[extension]) throw new Error(`dashboard build: unexpected output ${file.path}`);
    const hash = createHash('sha256').update(file.contents).digest('hex').slice(0, 16);
    const name = `app.${hash}${extension}`;
    if (!html.includes(PLACEHOLDERS[extension])) throw new Error(`dashboard/index.html: no ${PLACEHOLDERS[extension]} for ${file.path}`);
    html = html.replace(PLACEHOLDERS[extension], ASSET_PATH + name);
    assets[name] = { contentType: CONTENT_TYPES[extension], body: file.text };
  }
  return { html, assets };
}

/**
 * The build as the value of esbuild's `define`, base64-encoded JSON: the framework resolves
 * `${...}` in every string it is handed, and the bundled script has template literals.
 */
function encodeDashboardAssets(assets) {
  return Buffer.from(JSON.stringify(assets), 'utf8').toString('base64');
}

module.exports = () => ({ define: { __DASHBOARD_ASSETS__: JSON.stringify(encodeDashboardAssets(buildDashboardAssets())) } });
module.exports.buildDashboardAssets = buildDashboardAssets;
module.exports.encodeDashboardAssets = encodeDashboardAssets;
module.exports.ASSET_PATH = ASSET_PATH;
