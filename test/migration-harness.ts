// A database of its own migrated up to, not including, one migration, so a test can put rows in the
// old shape, run that migration and read what it made of them. Dropped when the test file ends.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { adminQuery, withDatabase } from './global-setup.js';

const migrationsDir = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../src/platform/db/migrations',
);

export interface MigrationDatabase {
  /** Connected once the file's beforeAll has run. */
  client: pg.Client;
  /** Runs one migration file by name. */
  run(file: string): Promise<void>;
}

/** Call at the top of a test file: registers the set-up and the clean-up of the database. */
export function useDatabaseMigratedBefore(migration: string): MigrationDatabase {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `accrue_migration_${randomBytes(6).toString('hex')}`;
  const database: MigrationDatabase = {
    client: new pg.Client({ connectionString: withDatabase(adminUrl, name) }),
    run: async (file) => {
      await database.client.query(await fs.readFile(path.join(migrationsDir, file), 'utf8'));
    },
  };
  beforeAll(async () => {
    await adminQuery(adminUrl, `create database ${name}`);
    await database.client.connect();
    const files = (await fs.readdir(migrationsDir)).filter((file) => file.endsWith('.sql')).sort();
    for (const file of files.filter((file) => file < migration)) await database.run(file);
  });
  afterAll(async () => {
    await database.client.end();
    await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
  });
  return database;
}
