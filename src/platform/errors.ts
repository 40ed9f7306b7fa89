// One error type for every expected failure. The code is stable and documented; the HTTP status
// comes from one table so that services never think in HTTP.

export const errorStatusByCode = {
  bad_request: 400,
  invalid_json: 400,
  invalid_cursor: 400,
  invalid_scale: 400,
  max_transaction_amount_exceeded: 400,
  unsupported_inventory_mode: 400,
  asset_not_prefunded: 400,
  self_transfer: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_conflict: 409,
  asset_archived: 409,
  participant_inactive: 409,
  program_inactive: 409,
  tier_archived: 409,
  group_archived: 409,
  request_timeout: 408,
  reward_unavailable: 409,
  reward_limit_exceeded: 409,
  not_resendable: 409,
  endpoint_not_active: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  insufficient_balance: 422,
  asset_not_linked: 422,
  integrity_violation: 500,
  too_many_requests: 429,
  headers_too_large: 431,
  internal_error: 500,
  service_unavailable: 503,
  read_only: 503,
} as const;

export type ErrorCode = keyof typeof errorStatusByCode;

/** One bad field, as every 400 names it: where, why, what was expected and what came. */
export interface FieldProblem {
  field: string;
  reason: string;
  message: string;
  expected?: string;
  received?: string;
}

export interface ErrorDetails {
  field?: string;
  reason?: string;
  expected?: string;
  received?: string;
  message?: string;
  fields?: FieldProblem[];
  [key: string]: unknown;
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }

  get statusCode(): number {
    return errorStatusByCode[this.code];
  }
}

export function notFound(resource: string): DomainError {
  return new DomainError('not_found', `${resource} not found`);
}

/** A validation error about one field, shaped like the ones the schema validator produces. */
export function invalidField(field: string, message: string, reason = 'invalid'): DomainError {
  return badRequest([{ field, reason, message: `${field}: ${message}` }]);
}

/**
 * The one 400 for bad fields: `details` repeats the first problem's field, reason, expected,
 * received and message at the top, and lists every problem in `fields`.
 */
export function badRequest(fields: FieldProblem[]): DomainError {
  return new DomainError(
    'bad_request',
    fields.map((field) => field.message).join('; '),
    describeFields(fields),
  );
}

export function describeFields(fields: FieldProblem[]): ErrorDetails {
  const first = fields[0];
  return {
    field: first?.field,
    reason: first?.reason,
    expected: first?.expected,
    received: first?.received,
    message: first?.message,
    fields,
  };
}
