import type { Generated } from 'kysely';
import type { Database } from '../../platform/db/database.js';

interface OrganizationTable {
  id: string;
  name: string;
  status: Generated<string>;
  created_at: Generated<Date>;
}

interface ApiKeyTable {
  organization_id: string;
  id: string;
  key_hash: Buffer;
  key_prefix: string;
  created_at: Generated<Date>;
  revoked_at: Generated<Date | null>;
}

type Tables = {
  organizations: OrganizationTable;
  api_keys: ApiKeyTable;
};

const tables = (db: Database) => db.withTables<Tables>();

export async function findCallerByKeyHash(db: Database, keyHash: Buffer) {
  return tables(db)
    .selectFrom('api_keys')
    .select(['organization_id', 'id'])
    .where('key_hash', '=', keyHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function findOrganizationByName(db: Database, name: string) {
  return tables(db).selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function insertOrganizationIfAbsent(db: Database, id: string, name: string): Promise<void> {
  await tables(db)
    .insertInto('organizations')
    .values({ id, name })
    .onConflict((conflict) => conflict.column('name').doNothing())
    .execute();
}

export async function insertApiKey(
  db: Database,
  key: { organization_id: string; id: string; key_hash: Buffer; key_prefix: string },
): Promise<void> {
  await tables(db).insertInto('api_keys').values(key).execute();
}

export async function keyHashExists(db: Database, keyHash: Buffer): Promise<boolean> {
  const row = await tables(db)
    .selectFrom('api_keys')
    .select('id')
    .where('key_hash', '=', keyHash)
    .executeTakeFirst();
  return row !== undefined;
}

export async function countApiKeys(db: Database): Promise<number> {
  const row = await tables(db)
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function listOrganizations(db: Database) {
  return tables(db).selectFrom('organizations').select(['id', 'name']).execute();
}

export async function listApiKeys(db: Database, organizationId: string | undefined) {
  return tables(db)
    .selectFrom('api_keys')
    .innerJoin('organizations', 'organizations.id', 'api_keys.organization_id')
    .select([
      'api_keys.organization_id',
      'api_keys.id',
      'api_keys.key_prefix',
      'api_keys.created_at',
      'api_keys.revoked_at',
      'organizations.name as organization_name',
    ])
    .$if(organizationId !== undefined, (query) =>
      query.where('api_keys.organization_id', '=', organizationId ?? ''),
    )
    .orderBy('api_keys.created_at')
    .execute();
}

export async function revokeApiKey(db: Database, id: string): Promise<boolean> {
  const result = await tables(db)
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
