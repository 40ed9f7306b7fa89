import { type ColumnType, type Insertable, type Selectable, sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageInSortOrder, type SortDirection } from '../../platform/db/keyset.js';

export interface RequestLogTable {
  organization_id: string;
  id: string;
  request_id: string;
  method: string;
  path: string;
  route_pattern: string;
  status_code: number;
  duration_ms: ColumnType<string, number, number>;
  auth_type: string;
  api_key_id: string | null;
  error_code: string | null;
  ip_address: string | null;
  user_agent: string | null;
  request_body: string | null;
  response_body: string | null;
  created_at: Date;
}

type Tables = { request_logs: RequestLogTable };
export type RequestLogRow = Selectable<RequestLogTable>;
export type NewRequestLog = Insertable<RequestLogTable>;

const tables = (db: Database) => db.withTables<Tables>();

export async function insertRequestLogs(db: Database, rows: NewRequestLog[]): Promise<void> {
  if (rows.length > 0) await tables(db).insertInto('request_logs').values(rows).execute();
}

export interface LogFilter {
  method: string | undefined;
  routePattern: string | undefined;
  requestId: string | undefined;
  authType: string | undefined;
  statusMin: number | undefined;
  statusMax: number | undefined;
  from: Date | undefined;
  to: Date | undefined;
  sortBy: 'created_at' | 'duration_ms' | 'status_code';
  sortDir: SortDirection;
  after: [unknown, unknown] | undefined;
  limit: number;
}

export async function listRequestLogs(db: Database, organizationId: string, filter: LogFilter) {
  let query = tables(db).selectFrom('request_logs').selectAll().where('organization_id', '=', organizationId);
  if (filter.method) query = query.where('method', '=', filter.method);
  if (filter.routePattern) query = query.where('route_pattern', '=', filter.routePattern);
  if (filter.requestId) query = query.where('request_id', '=', filter.requestId);
  if (filter.authType) query = query.where('auth_type', '=', filter.authType);
  if (filter.statusMin !== undefined) query = query.where('status_code', '>=', filter.statusMin);
  if (filter.statusMax !== undefined) query = query.where('status_code', '<=', filter.statusMax);
  if (filter.from) query = query.where('created_at', '>=', filter.from);
  if (filter.to) query = query.where('created_at', '<=', filter.to);
  return pageInSortOrder(query, filter).execute();
}

export async function findRequestLog(db: Database, organizationId: string, id: string) {
  return tables(db)
    .selectFrom('request_logs')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function summarizeUsage(db: Database, organizationId: string, from: Date, to: Date) {
  const result = await sql<{
    date: string;
    request_count: string;
    error_count: string;
    average_latency_ms: string;
  }>`
    select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as date,
           count(*) as request_count,
           count(*) filter (where status_code >= 400) as error_count,
           round(avg(duration_ms), 3) as average_latency_ms
    from request_logs
    where organization_id = ${organizationId} and created_at >= ${from} and created_at <= ${to}
    group by 1 order by 1`.execute(db);
  return result.rows;
}
