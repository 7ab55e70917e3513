import type { DashboardBuild } from '../infra/dashboard-assets.cjs';

export type { DashboardAsset, DashboardBuild } from '../infra/dashboard-assets.cjs';

/**
 * The dashboard's build (infra/dashboard-assets.cjs), base64 JSON: esbuild's `define` writes it
 * into the bundles of the dashboard routes at packaging; the local HTTP server sets it as a global
 * before it loads the routes.
 */
declare const __DASHBOARD_ASSETS__: string | undefined;

let decoded: DashboardBuild | undefined;

/** The dashboard's page and assets, decoded at the first request; throws when the build is missing (a packaging or setup bug: a 500). */
export function dashboardBuild(): DashboardBuild {
  if (decoded) return decoded;
  const encoded = typeof __DASHBOARD_ASSETS__ === 'undefined' ? undefined : __DASHBOARD_ASSETS__;
  if (typeof encoded !== 'string') throw new Error('the dashboard is not built into this bundle (__DASHBOARD_ASSETS__ is not defined)');
  decoded = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as DashboardBuild;
  return decoded;
}

/**
 * The Content-Security-Policy of the dashboard's page: its own script, style sheet and API calls,
 * nothing else (no inline script or style elements, no other origin, no framing, no forms posting
 * anywhere). The JSON routes keep the API's `default-src 'none'`.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
