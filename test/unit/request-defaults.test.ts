import { describe, expect, it } from 'vitest';
import { claimRequestSchema, setBusyBodySchema } from '../../schemas/http';

const DEFAULTS = { leaseSeconds: 45, holdSeconds: 7200 };

describe('request schemas apply every default', () => {
  it('claim-gs: one server, the deployment\'s lease and hold, distinct nodes off for one server', () => {
    expect(claimRequestSchema(DEFAULTS).parse({ claimId: 'c-1' })).toEqual({ claimId: 'c-1', count: 1, distinctNodes: false, leaseSeconds: 45, holdSeconds: 7200 });
  });

  it('claim-gs: distinct nodes on by default for a group of several, off when asked', () => {
    expect(claimRequestSchema(DEFAULTS).parse({ claimId: 'c-2', count: 2 }).distinctNodes).toBe(true);
    expect(claimRequestSchema(DEFAULTS).parse({ claimId: 'c-3', count: 2, distinctNodes: false }).distinctNodes).toBe(false);
  });

  it('claim-gs: keeps what the caller named, adding no field it left out', () => {
    expect(claimRequestSchema(DEFAULTS).parse({ claimId: 'c-4', count: 3, region: 'eu', leaseSeconds: 5, holdSeconds: 60, labels: { map: 'dust' } })).toEqual({
      claimId: 'c-4',
      count: 3,
      region: 'eu',
      labels: { map: 'dust' },
      distinctNodes: true,
      leaseSeconds: 5,
      holdSeconds: 60,
    });
  });

  it('set-gs-busy: the deployment\'s hold without a body or without holdSeconds, the caller\'s otherwise', () => {
    expect(setBusyBodySchema(DEFAULTS).parse(undefined)).toEqual({ holdSeconds: 7200 });
    expect(setBusyBodySchema(DEFAULTS).parse({ claimId: 'h-1' })).toEqual({ claimId: 'h-1', holdSeconds: 7200 });
    expect(setBusyBodySchema(DEFAULTS).parse({ holdSeconds: 30 })).toEqual({ holdSeconds: 30 });
  });
});
