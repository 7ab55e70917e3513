import { describe, expect, it } from 'vitest';
import catalogue from '../../infra/functions.cjs';
import { HTTP_ROUTE_NAMES, ROUTE_SCHEMAS, routeRoles, routeSpec, type RouteName } from '../../lib/http/routes';
import { EndpointParamsSchema, SetBusyBodySchema } from '../../schemas/http';
import { compileRoute, installDashboardBuild } from '../../scripts/local/http-server';

describe('compileRoute (local API server)', () => {
  it('captures one path segment per parameter, URL-encoded as API Gateway passes it', () => {
    const { pattern, names } = compileRoute('/claims/{claimId}/confirm');
    expect(names).toEqual(['claimId']);
    expect(pattern.exec('/claims/abc-1/confirm')?.[1]).toBe('abc-1');
    expect(pattern.test('/claims/a/b/confirm')).toBe(false);
    expect(compileRoute('/set-gs-busy/{endpoint}').pattern.exec('/set-gs-busy/10.0.0.1%3A7777')?.[1]).toBe('10.0.0.1%3A7777');
  });

  it('matches literal paths exactly', () => {
    const { pattern } = compileRoute('/openapi.json');
    expect(pattern.test('/openapi.json')).toBe(true);
    expect(pattern.test('/openapiXjson')).toBe(false);
  });

  it('every catalogue route is distinct and names an existing handler file', async () => {
    const routes = catalogue.filter((f) => f.http).map((f) => `${f.http!.method} ${f.http!.path}`);
    expect(new Set(routes).size).toBe(routes.length);
    installDashboardBuild();
    for (const definition of catalogue) {
      const module = await import(`../../${definition.file}`);
      expect(typeof module.makeHandler).toBe('function');
      expect(typeof module.handler).toBe('function');
    }
  });

  it('gives each handler the roles of its catalogue route, and refuses a name that is no HTTP route', () => {
    expect(routeRoles('health')).toBe('public');
    expect(routeRoles('get-gs')).toEqual(['matchmaker', 'load-balancer', 'reader', 'admin']);
    expect(routeRoles('claim-gs')).toEqual(['matchmaker', 'load-balancer', 'admin']);
    expect(() => routeRoles('status-poller' as RouteName)).toThrow(/no HTTP route named status-poller/);
    expect(() => routeRoles('claim-gss' as RouteName)).toThrow(/no HTTP route named claim-gss/);
  });

  it('has request and response schemas for exactly the registry\'s HTTP routes', () => {
    expect(Object.keys(ROUTE_SCHEMAS).sort()).toEqual([...HTTP_ROUTE_NAMES].sort());
    expect(HTTP_ROUTE_NAMES).toHaveLength(19);
  });

  it('gives a handler its roles and request schemas, never its response schema', () => {
    expect(routeSpec('set-gs-busy')).toEqual({ roles: ['matchmaker', 'load-balancer', 'admin'], params: EndpointParamsSchema, body: SetBusyBodySchema });
    expect(routeSpec('health')).toEqual({ roles: 'public' });
  });
});
