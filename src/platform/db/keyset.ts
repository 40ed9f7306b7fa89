// Keyset conditions for paging by (sort column, id) in either direction.
import { type RawBuilder, sql } from 'kysely';

export type SortDirection = 'asc' | 'desc';

/** `(column, id) > (value, lastId)` for ascending pages, `<` for descending ones. */
export function afterKey(
  column: string,
  direction: SortDirection,
  value: unknown,
  id: unknown,
): RawBuilder<boolean> {
  const comparison = sql.raw(direction === 'asc' ? '>' : '<');
  return sql<boolean>`(${sql.ref(column)}, ${sql.ref('id')}) ${comparison} (${value}, ${id}::uuid)`;
}
