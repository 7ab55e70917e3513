import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../lib/errors';
import { DOMAIN_STATUS } from '../../lib/http';

describe('domain refusals at the HTTP boundary', () => {
  it('maps every domain error code to its documented status, in one table', () => {
    expect(Object.keys(DOMAIN_STATUS).sort()).toEqual(Object.values(ErrorCodes).sort());
    expect(DOMAIN_STATUS).toEqual({
      'gs.not_found': 404,
      'claim.not_found': 404,
      'gs.not_available': 409,
      'gs.none_available': 409,
      'claim.mismatch': 409,
      'claim.lost': 409,
      'claim.released': 409,
      'claim.expired': 409,
      'claim.server_not_lost': 409,
      'claim.server_not_in_claim': 409,
      'claim.lease_too_long': 400,
      'claim.hold_too_long': 400,
      'service.unavailable': 503,
    });
  });
});
