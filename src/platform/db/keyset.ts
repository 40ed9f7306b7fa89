// Keyset conditions for paging by (sort column, id) in either direction.
import { type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';

export type SortDirection = 'asc' | 'desc';

/** `(column, id) > (value, lastId)` for ascending pages, `<` for descending ones. */
function afterKey(
  column: string,
  direction: SortDirection,
  value: unknown,
  id: unknown,
): RawBuilder<boolean> {
  const comparison = sql.raw(direction === 'asc' ? '>' : '<');
  return sql<boolean>`(${sql.ref(column)}, ${sql.ref('id')}) ${comparison} (${value}, ${id}::uuid)`;
}

export interface KeyOrder {
  /** The sort column; `id` breaks its ties. */
  column: string;
  direction: SortDirection;
  /** The (column value, id) of the last row of the previous page, from its cursor. */
  after: readonly [unknown, unknown] | undefined;
  limit: number;
}

/**
 * One page of a list in (column, id) order: the rows after the cursor's key, at most `limit + 1`
 * of them (the extra one tells that another page follows, and is not shown).
 */
// biome-ignore lint/suspicious/noExplicitAny: any select of any table; the caller keeps its own type
export function pageInKeyOrder<Query extends SelectQueryBuilder<any, any, any>>(
  query: Query,
  order: KeyOrder,
): Query {
  const after = order.after;
  const from =
    after === undefined ? query : query.where(afterKey(order.column, order.direction, after[0], after[1]));
  return from
    .orderBy(sql.ref(order.column), order.direction)
    .orderBy(sql.ref('id'), order.direction)
    .limit(order.limit + 1) as Query;
}

/** A page of a list newest first: by created_at, then id, both descending. */
// biome-ignore lint/suspicious/noExplicitAny: any select of any table; the caller keeps its own type
export function pageNewestFirst<Query extends SelectQueryBuilder<any, any, any>>(
  query: Query,
  page: Pick<KeyOrder, 'after' | 'limit'>,
): Query {
  return pageInKeyOrder(query, {
    column: 'created_at',
    direction: 'desc',
    after: page.after,
    limit: page.limit,
  });
}

/** A page of a list in the order its caller asked for (`sort_by`, `sort_dir`), then id. */
// biome-ignore lint/suspicious/noExplicitAny: any select of any table; the caller keeps its own type
export function pageInSortOrder<Query extends SelectQueryBuilder<any, any, any>>(
  query: Query,
  page: Pick<KeyOrder, 'after' | 'limit'> & { sortBy: string; sortDir: SortDirection },
): Query {
  return pageInKeyOrder(query, {
    column: page.sortBy,
    direction: page.sortDir,
    after: page.after,
    limit: page.limit,
  });
}
