import { toIso } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { notFound } from '../../platform/errors.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import {
  loggedBodyBytesMax,
  pageSizeDefault,
  requestLogBatchMax,
  requestLogFlushMs,
  usageDaysDefault,
} from '../../platform/limits.js';
import { isCredentialName, type Logger } from '../../platform/logger.js';
import { readOptionalTimestamp } from '../../platform/timestamp.js';
import type { ListLogsQuery, RequestLog, RequestLogDetail, Usage, UsageQuery } from './logs.schemas.js';
import type { NewRequestLog, RequestLogRow } from './logs.store.js';
import * as store from './logs.store.js';

/** Replaces the value of every secret-looking key, then keeps at most 4 KiB of the text. */
export function redactBody(text: string | undefined): string | null {
  if (text === undefined || text === '') return null;
  let redacted = text;
  try {
    redacted = JSON.stringify(JSON.parse(text), (key, value) =>
      isCredentialName(key) ? '[redacted]' : value,
    );
  } catch {
    // Not JSON: keep the text as it came.
  }
  return truncateBody(redacted);
}

/** At most loggedBodyBytesMax bytes of the text, marked when cut. */
export function truncateBody(text: string): string {
  const bytes = Buffer.from(text);
  return bytes.length <= loggedBodyBytesMax
    ? text
    : `${bytes.subarray(0, loggedBodyBytesMax).toString()}…[truncated]`;
}

/**
 * Request logs are written after the response, in batches, so that logging never adds a round trip
 * to a request. A crash loses at most the last flush interval of logs (they are diagnostics, not
 * records of value).
 */
export class RequestLogRecorder {
  private buffer: NewRequestLog[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  record(row: NewRequestLog): void {
    this.buffer.push(row);
    if (this.buffer.length >= requestLogBatchMax) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), requestLogFlushMs);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.buffer;
    this.buffer = [];
    this.writing = this.writing.then(() =>
      store.insertRequestLogs(this.db, rows).catch((error: unknown) => {
        this.logger.warn({ err: error, lost: rows.length }, 'request logs could not be written');
      }),
    );
    await this.writing;
  }
}

function toRequestLog(row: RequestLogRow): RequestLog {
  return {
    id: row.id,
    request_id: row.request_id,
    method: row.method,
    path: row.path,
    route_pattern: row.route_pattern,
    status_code: row.status_code,
    duration_ms: Number(row.duration_ms),
    auth_type: row.auth_type,
    error_code: row.error_code,
    created_at: toIso(row.created_at),
  };
}

export async function listRequestLogs(
  db: Database,
  organizationId: string,
  query: ListLogsQuery,
): Promise<PageResult<RequestLog>> {
  const sortBy = query.sort_by ?? 'created_at';
  const sortDir = query.sort_dir ?? 'desc';
  const limit = query.limit ?? pageSizeDefault;
  const scope = `logs:${sortBy}:${sortDir}`;
  const after = decodeKeyset(query.cursor, scope);
  const requestId =
    query.request_id?.startsWith('req_') === false ? `req_${query.request_id}` : query.request_id;
  const rows = await store.listRequestLogs(db, organizationId, {
    method: query.method,
    routePattern: query.route_pattern,
    requestId,
    authType: query.auth_type,
    statusMin: query.status_min,
    statusMax: query.status_max,
    from: readOptionalTimestamp(query.from, 'from'),
    to: readOptionalTimestamp(query.to, 'to'),
    sortBy,
    sortDir,
    after,
    limit,
  });
  return toPage(rows, limit, scope, (row) => [row[sortBy], row.id], toRequestLog);
}

export async function getRequestLog(
  db: Database,
  organizationId: string,
  id: string,
): Promise<RequestLogDetail> {
  const row = await store.findRequestLog(db, organizationId, id);
  if (row === undefined) throw notFound('request log');
  return {
    ...toRequestLog(row),
    created_by_api_key_id: row.api_key_id,
    ip_address: row.ip_address,
    user_agent: row.user_agent,
    request_body: row.request_body,
    response_body: row.response_body,
  };
}

export async function getUsage(
  db: Database,
  organizationId: string,
  query: UsageQuery,
  now: Date,
): Promise<Usage> {
  const to = readOptionalTimestamp(query.to, 'to') ?? now;
  const from =
    readOptionalTimestamp(query.from, 'from') ?? new Date(to.getTime() - usageDaysDefault * 86_400_000);
  const rows = await store.summarizeUsage(db, organizationId, from, to);
  return {
    from: toIso(from),
    to: toIso(to),
    data: rows.map((row) => ({
      date: row.date,
      request_count: Number(row.request_count),
      error_count: Number(row.error_count),
      average_latency_ms: Number(row.average_latency_ms),
    })),
  };
}
