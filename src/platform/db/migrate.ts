// Migrations are plain SQL files in ./migrations, applied in file-name order, each recorded in
// schema_migrations. All of them run in one transaction that first locks schema_migrations, so two
// processes starting at once apply each file exactly once, and running them twice changes nothing.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface MigrationResult {
  applied: string[];
}

/** Called before each pending migration, and once more when all are applied. */
export type MigrationProgress = (done: number, total: number, file: string | undefined) => void;

async function migrationFiles(): Promise<string[]> {
  return (await fs.readdir(migrationsDir)).filter((file) => file.endsWith('.sql')).sort();
}

/**
 * The migrations this version has that the database lacks, read without writing (a replica accepts
 * no write): every one of them when the database was never migrated.
 */
export async function findPendingMigrations(connectionString: string): Promise<string[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const table = await client.query<{ found: boolean }>(
      "select to_regclass('schema_migrations') is not null as found",
    );
    const rows = table.rows[0]?.found
      ? (await client.query<{ version: string }>('select version from schema_migrations')).rows
      : [];
    const done = new Set(rows.map((row) => row.version));
    return (await migrationFiles()).filter((file) => !done.has(file));
  } finally {
    await client.end();
  }
}

export async function migrate(
  connectionString: string,
  onProgress?: MigrationProgress,
): Promise<MigrationResult> {
  const files = await migrationFiles();
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(
      'create table if not exists schema_migrations (version text primary key, applied_at timestamptz not null default now())',
    );
    await client.query('lock table schema_migrations in exclusive mode');
    const done = new Set(
      (await client.query<{ version: string }>('select version from schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const applied: string[] = [];
    const pending = files.filter((candidate) => !done.has(candidate));
    for (const file of pending) {
      onProgress?.(applied.length, pending.length, file);
      await client.query(await fs.readFile(path.join(migrationsDir, file), 'utf8'));
      await client.query('insert into schema_migrations (version) values ($1)', [file]);
      applied.push(file);
    }
    await client.query('commit');
    if (pending.length > 0) onProgress?.(applied.length, pending.length, undefined);
    return { applied };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}
