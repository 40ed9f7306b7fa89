// A database of its own migrated up to (not including) one migration, for tests that check what
// that migration does to rows written in the earlier schema.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { inject } from 'vitest';
import { adminQuery, withDatabase } from './global-setup.js';

const migrationsDir = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../src/platform/db/migrations',
);

export interface MigrationDatabase {
  client: pg.Client;
  /** Applies one migration file by name. */
  run(file: string): Promise<void>;
  drop(): Promise<void>;
}

export async function openMigrationDatabase(before: string): Promise<MigrationDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `accrue_migration_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name}`);
  const client = new pg.Client({ connectionString: withDatabase(adminUrl, name) });
  await client.connect();
  const run = async (file: string) => {
    await client.query(await fs.readFile(path.join(migrationsDir, file), 'utf8'));
  };
  const files = (await fs.readdir(migrationsDir)).filter((file) => file.endsWith('.sql')).sort();
  for (const file of files.filter((file) => file < before)) await run(file);
  return {
    client,
    run,
    drop: async () => {
      await client.end();
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}
