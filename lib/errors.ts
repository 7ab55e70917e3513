/**
 * Errors that reach a caller. Each has a stable `code`, an HTTP `statusCode` and `expose`
 * (middy's contract: exposed messages are shown, anything else becomes a plain 500).
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly expose = true;
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class BadRequestError extends AppError {
  override name = 'BadRequestError';
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, 400, message, details);
  }
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  constructor(code: string, message: string) {
    super(code, 404, message);
  }
}

export class ConflictError extends AppError {
  override name = 'ConflictError';
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, 409, message, details);
  }
}

/**
 * A dependency (DynamoDB) is throttling, timing out or unreachable: the caller should retry the
 * same request after `retryAfterSeconds`. Every write is safe to repeat.
 */
export class ServiceUnavailableError extends AppError {
  override name = 'ServiceUnavailableError';
  constructor(message = 'The service is temporarily unavailable; retry', options?: { cause?: unknown }) {
    super('service.unavailable', 503, message, { retryAfterSeconds: 1 }, options);
  }
}

/** Codes callers may branch on. */
export const ErrorCodes = {
  gsNotFound: 'gs.not_found',
  gsNotAvailable: 'gs.not_available',
  gsNoneAvailable: 'gs.none_available',
  claimNotFound: 'claim.not_found',
  claimMismatch: 'claim.mismatch',
  claimLost: 'claim.lost',
  claimReleased: 'claim.released',
  serviceUnavailable: 'service.unavailable',
  leaseTooLong: 'claim.lease_too_long',
  holdTooLong: 'claim.hold_too_long',
} as const;
