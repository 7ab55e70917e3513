import { createDeps, type Deps } from '../lib/deps';
import { DASHBOARD_CSP, dashboardBuild } from '../lib/dashboard-assets';
import { httpHandler } from '../lib/http';
import { routeSpec } from '../lib/http/routes';

/** GET /dashboard: the page (never cached: it names the current assets). */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('dashboard'), async () => ({
    statusCode: 200,
    raw: true,
    body: dashboardBuild().html,
    headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': DASHBOARD_CSP },
  }));
}

export const handler = makeHandler(createDeps());
