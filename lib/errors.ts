/**
 * Codes callers may branch on: what the domain (claims, game servers) refuses, and why. The
 * domain knows nothing of HTTP; the HTTP boundary maps each code to a status in one table
 * (lib/http/errors.ts DOMAIN_STATUS), as the Agones allocator maps its sentinel errors in one place.
 */
export const ErrorCodes = {
  gsNotFound: 'gs.not_found',
  gsNotAvailable: 'gs.not_available',
  gsNoneAvailable: 'gs.none_available',
  claimNotFound: 'claim.not_found',
  claimMismatch: 'claim.mismatch',
  claimLost: 'claim.lost',
  claimReleased: 'claim.released',
  /** A replace named a server of the claim that is still held and healthy. */
  claimServerNotLost: 'claim.server_not_lost',
  /** A replace named a server that is not (and never was replaced as) one of the claim's. */
  claimServerNotInClaim: 'claim.server_not_in_claim',
  /** A replace on a claim whose lease or hold has run out (renew it first). */
  claimExpired: 'claim.expired',
  serviceUnavailable: 'service.unavailable',
  leaseTooLong: 'claim.lease_too_long',
  holdTooLong: 'claim.hold_too_long',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * A refusal of the domain, with a stable `code`, a sentence for the caller and optional details
 * (e.g. which servers a claim lost). `retryAfterSeconds` in the details asks the caller to retry
 * the same request after that long.
 */
export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A dependency (DynamoDB) is throttling, timing out or unreachable, or a concurrent request holds
 * what this one needs: the caller should retry the same request after `retryAfterSeconds`. Every
 * write is safe to repeat.
 */
export class ServiceUnavailableError extends DomainError {
  override name = 'ServiceUnavailableError';
  constructor(message = 'The service is temporarily unavailable; retry', options?: { cause?: unknown }) {
    super(ErrorCodes.serviceUnavailable, message, { retryAfterSeconds: 1 }, options);
  }
}
