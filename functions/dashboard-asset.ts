import { createDeps, type Deps } from '../lib/deps';
import { dashboardBuild } from '../lib/dashboard-assets';
import { httpHandler } from '../lib/http';
import { HttpError } from '../lib/http/errors';
import { routeSpec } from '../lib/http/routes';

/** GET /dashboard/assets/{file}: a content-hashed asset, cached for good (a new build has new names). */
export function makeHandler(deps: Deps) {
  return httpHandler(deps, routeSpec('dashboard-asset'), async ({ params }) => {
    const { assets } = dashboardBuild();
    const asset = Object.hasOwn(assets, params.file) ? assets[params.file] : undefined;
    if (!asset) throw new HttpError('asset.not_found', 404, `No dashboard asset ${params.file} (the page names the current ones)`);
    return {
      statusCode: 200,
      raw: true,
      body: asset.body,
      headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=31536000, immutable' },
    };
  });
}

export const handler = makeHandler(createDeps());
