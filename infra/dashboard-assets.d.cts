export interface DashboardAsset {
  contentType: string;
  body: string;
}
export interface DashboardBuild {
  html: string;
  assets: Record<string, DashboardAsset>;
}
declare function resolveForServerless(): { define: { __DASHBOARD_ASSETS__: string } };
declare namespace resolveForServerless {
  function buildDashboardAssets(root?: string): DashboardBuild;
  function encodeDashboardAssets(assets: DashboardBuild): string;
  const ASSET_PATH: string;
}
export = resolveForServerless;
