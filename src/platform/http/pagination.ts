// Keyset pagination with opaque cursors. A cursor holds the sort key of the last row returned and a
// checksum; a tampered or foreign cursor answers 400 invalid_cursor. Keyset pages are stable: rows
// inserted while a client pages cause neither duplicates nor skips. Timestamps travel in a cursor
// tagged as such and come back as Dates, so no listing converts its sort values by hand.
import { createHash } from 'node:crypto';
import { DomainError } from '../errors.js';

export type CursorValue = string | number | null | Date;

export interface Cursor {
  /** Which listing and sort the cursor belongs to, e.g. "programs:name:asc". */
  scope: string;
  values: CursorValue[];
}

export interface PageResult<T> {
  data: T[];
  pagination: { has_more: boolean; next_cursor: string | null };
}

function checksum(payload: string): string {
  return createHash('sha256').update(`accrue-cursor:${payload}`).digest('base64url').slice(0, 12);
}

function toJsonValue(value: CursorValue): unknown {
  return value instanceof Date ? { at: value.toISOString() } : value;
}

function fromJsonValue(value: unknown): CursorValue | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'number') return value;
  const at = (value as { at?: unknown } | null)?.at;
  const time = typeof at === 'string' ? new Date(at) : undefined;
  return time !== undefined && !Number.isNaN(time.getTime()) ? time : undefined;
}

export function encodeCursor(cursor: Cursor): string {
  const payload = JSON.stringify([cursor.scope, cursor.values.map(toJsonValue)]);
  return Buffer.from(`${payload}|${checksum(payload)}`).toString('base64url');
}

export function decodeCursor(token: string | undefined, scope: string): CursorValue[] | undefined {
  if (token === undefined) return undefined;
  const invalid = new DomainError('invalid_cursor', 'cursor is not valid for this listing', {
    field: 'cursor',
    reason: 'invalid',
  });
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const separator = text.lastIndexOf('|');
  const payload = text.slice(0, separator);
  if (separator < 0 || checksum(payload) !== text.slice(separator + 1)) throw invalid;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    throw invalid;
  }
  if (!Array.isArray(parsed) || parsed[0] !== scope || !Array.isArray(parsed[1])) throw invalid;
  const values = (parsed[1] as unknown[]).map(fromJsonValue);
  if (values.some((value) => value === undefined)) throw invalid;
  return values as CursorValue[];
}

/** The (sort value, id) after which the next page starts, or undefined on the first page. */
export function decodeKeyset(
  token: string | undefined,
  scope: string,
): [CursorValue, CursorValue] | undefined {
  const values = decodeCursor(token, scope);
  return values && [values[0] ?? null, values[1] ?? null];
}

/**
 * Builds the list envelope from rows fetched with `limit + 1`: the extra row only tells whether
 * there is a next page.
 */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  scope: string,
  cursorValuesOf: (row: Row) => CursorValue[],
  toItem: (row: Row) => Item,
): PageResult<Item> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    data: pageRows.map(toItem),
    pagination: {
      has_more: hasMore,
      next_cursor:
        hasMore && last !== undefined ? encodeCursor({ scope, values: cursorValuesOf(last) }) : null,
    },
  };
}
