// Schemas shared by every route: ids, timestamps, the list envelope and the error body.
import { type TSchema, Type } from 'typebox';
import { type ErrorCode, errorStatusByCode } from '../errors.js';
import { pageSizeDefault, pageSizeMax } from '../limits.js';
import { timestampDescription } from '../timestamp.js';

export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });
export const Timestamp = Type.String({ format: 'date-time', description: timestampDescription });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

/** The name of a counter, attribute or tier: any text but the names JavaScript objects reserve. */
export function KeyName(options: { maxLength: number; minLength?: number; description?: string }) {
  return Type.String({ minLength: 1, format: 'key-name', ...options });
}

/** An operationId in camelCase from its words: ('void-hold', 'participant', 'balance') -> voidHoldParticipantBalance. */
export function operationId(...words: string[]): string {
  const parts = words.flatMap((word) => word.split(/[-\s]+/)).filter((part) => part !== '');
  return parts.map((part, index) => (index === 0 ? part : part[0]?.toUpperCase() + part.slice(1))).join('');
}

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const ListQueryFields = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: pageSizeMax,
      default: pageSizeDefault,
      description: 'Page size (1-200)',
    }),
  ),
  cursor: Type.Optional(
    Type.String({ maxLength: 1024, description: 'Opaque cursor from pagination.next_cursor' }),
  ),
};

export const SortDir = Type.Enum(['asc', 'desc'], { default: 'desc' });

export const Pagination = Type.Object({
  has_more: Type.Boolean(),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export function Page<T extends TSchema>(item: T) {
  return Type.Object(
    { data: Type.Array(item), pagination: Pagination },
    { description: 'One page of the list, and the cursor to the next' },
  );
}

export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'Stable, snake_case error code' }),
    message: Type.String(),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { $id: 'Error' },
);

const commonErrors: ErrorCode[] = ['bad_request', 'unauthorized', 'internal_error'];

/** The error responses of a route, for the OpenAPI document: the common ones plus `codes`. */
export function errorResponses(...codes: ErrorCode[]): Record<number, TSchema> {
  const responses: Record<number, TSchema> = {};
  for (const code of [...commonErrors, ...codes]) {
    const status = errorStatusByCode[code];
    const existing = responses[status] as { description?: string } | undefined;
    const listed = existing?.description ? `${existing.description}, ${code}` : code;
    responses[status] = Type.Ref('Error', { description: listed });
  }
  return responses;
}
