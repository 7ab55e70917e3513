import { DomainError, type ErrorCode } from '../errors';

/**
 * A request refused at the HTTP boundary itself (authentication, roles, malformed input), with
 * its status. The domain's refusals are DomainErrors, mapped by DOMAIN_STATUS.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The one place a domain refusal becomes an HTTP status. */
export const DOMAIN_STATUS: Record<ErrorCode, number> = {
  'gs.not_found': 404,
  'claim.not_found': 404,
  'gs.not_available': 409,
  'gs.none_available': 409,
  'claim.mismatch': 409,
  'claim.lost': 409,
  'claim.released': 409,
  'claim.server_not_lost': 409,
  'claim.server_not_in_claim': 409,
  'claim.expired': 409,
  'claim.lease_too_long': 400,
  'claim.hold_too_long': 400,
  'service.unavailable': 503,
};

export interface Refusal {
  code: string;
  statusCode: number;
  message: string;
  details?: Record<string, unknown>;
}

/** Any refusal as code, status, message and details; undefined for anything else (a bug: 500). */
export function refusalOf(error: unknown): Refusal | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof DomainError) {
    return { code: error.code, statusCode: DOMAIN_STATUS[error.code], message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  return undefined;
}

/** Every error the API answers: `{ error: { code, message, details? } }`. */
export function errorBody(code: string, message: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}
