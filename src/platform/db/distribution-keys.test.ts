// Keeps the path to a distributed PostgreSQL (Citus, distributed by organization_id) open: a
// distributed table's primary and unique keys must include the distribution column, and foreign keys
// between distributed tables must too. This test reads the migrated schema and fails when a table's
// primary key or any unique constraint or unique index does not begin with organization_id, unless the
// table is one of the reference tables below (small, copied to every node, or global by nature).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/harness.js';

/** Tables without organization_id in front of their keys, each with the reason. */
const referenceTables: Record<string, string> = {
  organizations: 'the tenants themselves (their id is the distribution value) and their unique names',
  api_keys: 'found by the hash of the key a request carries, before its organization is known; small',
  schema_migrations: 'the schema version of the whole database',
};

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.handle.close();
});

interface Key {
  table_name: string;
  index_name: string;
  first_column: string | null;
  is_primary: boolean;
}

/** Every primary key and unique index (unique constraints have one) of the public schema. */
async function readKeys(): Promise<Key[]> {
  const result = await sql<Key>`
    select t.relname as table_name, i.relname as index_name, ix.indisprimary as is_primary,
      (select a.attname from pg_attribute a where a.attrelid = t.oid and a.attnum = ix.indkey[0]) as first_column
    from pg_index ix
    join pg_class i on i.oid = ix.indexrelid
    join pg_class t on t.oid = ix.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = 'public' and t.relkind in ('r', 'p') and ix.indisunique
    order by t.relname, i.relname`.execute(database.handle.db);
  return result.rows;
}

describe('keys and the distribution column', () => {
  it('every primary and unique key of a tenant table begins with organization_id', async () => {
    const keys = await readKeys();
    expect(keys.length).toBeGreaterThan(20);
    const offending = keys
      .filter((key) => referenceTables[key.table_name] === undefined)
      .filter((key) => key.first_column !== 'organization_id')
      .map((key) => `${key.table_name}.${key.index_name} begins with ${key.first_column ?? 'an expression'}`);
    expect(offending).toEqual([]);
  });

  it('every tenant table has a primary key, and every listed reference table exists', async () => {
    const keys = await readKeys();
    const tables = new Set(keys.map((key) => key.table_name));
    const withPrimary = new Set(keys.filter((key) => key.is_primary).map((key) => key.table_name));
    const all = await sql<{ table_name: string }>`
      select c.relname as table_name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p')`.execute(database.handle.db);
    const missing = all.rows.map((row) => row.table_name).filter((table) => !withPrimary.has(table));
    expect(missing).toEqual([]);
    for (const table of Object.keys(referenceTables)) expect(tables, table).toContain(table);
  });
});
