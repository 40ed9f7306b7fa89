// The database handle every module uses: a node-postgres pool behind Kysely. PostgreSQL only:
// the embedded server by default, DATABASE_URL when it is set.
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../../config.js';
import type { Logger } from '../logger.js';
import { trackPool } from '../metrics.js';
import { type EmbeddedRole, openEmbeddedServer } from './embedded-server.js';

// Kysely knows no table until a store declares its own with `db.withTables<...>()`, so the tables
// a module owns are typed in that module.
// biome-ignore lint/complexity/noBannedTypes: the empty table set, widened by each store
export type Database = Kysely<{}>;

export interface DatabaseHandle {
  db: Database;
  pool: pg.Pool;
  connectionString: string;
  close(): Promise<void>;
}

// NUMERIC and BIGINT arrive as strings: exact, and the money module parses them.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

export async function openDatabase(config: Config, role: EmbeddedRole, log: Logger): Promise<DatabaseHandle> {
  if (config.databaseUrl !== undefined) {
    const pool = { ...config.pool, readOnly: config.readOnly };
    return connect(config.databaseUrl, pool, log, async () => {});
  }
  const embedded = await openEmbeddedServer(config.dataDir, role, log);
  return connect(embedded.connectionString, config.pool, log, () => embedded.release());
}

export interface PoolSettings {
  sizeMax: number;
  /** How long a request waits for a free connection before it answers 503. */
  waitMs: number;
  /**
   * Every session opens with default_transaction_read_only, so that a write fails in PostgreSQL
   * (25006) even if it slipped past the API's refusal (ACCRUE_READ_ONLY).
   */
  readOnly?: boolean;
}

export function connect(
  connectionString: string,
  poolSettings: PoolSettings,
  log: Logger,
  onClose: () => Promise<void>,
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString,
    max: poolSettings.sizeMax,
    connectionTimeoutMillis: poolSettings.waitMs,
    ...(poolSettings.readOnly === true && { options: '-c default_transaction_read_only=on' }),
  });
  // A connection lost to a database restart must not crash the process: pg emits 'error' on the
  // client (idle or checked out), and an 'error' event without a listener throws. The query in flight
  // rejects on its own and its request answers 503.
  const onLost = (error: Error) => log.warn({ reason: error.message }, 'database connection lost');
  pool.on('error', onLost);
  pool.on('connect', (client) => client.on('error', onLost));
  const db: Database = new Kysely({ dialect: new PostgresDialect({ pool }) });
  const tracked = trackPool(pool);
  return {
    db,
    pool,
    connectionString,
    async close() {
      tracked.untrack();
      await db.destroy();
      await onClose();
    },
  };
}

export async function isDatabaseReachable(db: Database): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
