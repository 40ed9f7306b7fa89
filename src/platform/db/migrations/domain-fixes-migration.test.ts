// 0014_domain_fixes.sql makes asset symbols unique regardless of case and gives every existing asset
// its system accounts: a database migrated up to 0013 with assets in it must come out with no
// case-duplicate symbols and three system accounts per asset.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useDatabaseMigratedBefore } from '../../../../test/migration-harness.js';

const migration = '0014_domain_fixes.sql';
const database = useDatabaseMigratedBefore(migration);

async function insertAsset(organization: string, symbol: string, createdAt: string) {
  const id = randomUUID();
  await database.client.query(
    `insert into assets (organization_id, id, name, symbol, inventory_mode, issuance_policy, scale, created_at,
       updated_at)
     values ($1, $2, $3, $3, 'SIMPLE', 'UNLIMITED', 2, $4, $4)`,
    [organization, id, symbol, createdAt],
  );
  return id;
}

describe('0014_domain_fixes', () => {
  it('renames later case-duplicate symbols, then refuses new ones, and creates missing system accounts', async () => {
    const [acme, other] = [randomUUID(), randomUUID()];
    await database.client.query(`insert into organizations (id, name) values ($1, 'acme'), ($2, 'other')`, [
      acme,
      other,
    ]);
    const pts = await insertAsset(acme, 'PTS', '2026-01-01T00:00:00Z');
    const lower = await insertAsset(acme, 'pts', '2026-01-02T00:00:00Z');
    const taken = await insertAsset(acme, 'Pts2', '2026-01-03T00:00:00Z');
    const mixed = await insertAsset(acme, 'pTs', '2026-01-04T00:00:00Z');
    const long = await insertAsset(acme, 'A'.repeat(16), '2026-01-05T00:00:00Z');
    const longer = await insertAsset(acme, 'a'.repeat(16), '2026-01-06T00:00:00Z');
    const elsewhere = await insertAsset(other, 'pts', '2026-01-07T00:00:00Z');
    await database.client.query(
      `insert into ledger_accounts (organization_id, id, owner_type, owner_id, asset_id, bucket, balance, created_at)
       values ($1, $2, 'SYSTEM', '00000000-0000-7000-8000-000000000001', $3, 'AVAILABLE', -500, now())`,
      [acme, randomUUID(), pts],
    );
    await database.run(migration);

    const { rows: assets } = await database.client.query(
      'select id, symbol from assets where id = any($1) order by created_at',
      [[pts, lower, taken, mixed, long, longer, elsewhere]],
    );
    expect(assets).toEqual([
      { id: pts, symbol: 'PTS' },
      { id: lower, symbol: 'pts3' },
      { id: taken, symbol: 'Pts2' },
      { id: mixed, symbol: 'pTs4' },
      { id: long, symbol: 'A'.repeat(16) },
      { id: longer, symbol: `${'a'.repeat(15)}2` },
      { id: elsewhere, symbol: 'pts' },
    ]);
    await expect(insertAsset(acme, 'PtS2', '2026-02-01T00:00:00Z')).rejects.toThrow(/assets_symbol_unique/);

    const { rows: accounts } = await database.client.query(
      `select asset_id, count(*)::int as accounts, sum(balance)::text as balance,
         bool_and(substr(id::text, 15, 1) = '7') as uuid_v7
       from ledger_accounts where owner_type = 'SYSTEM' and bucket = 'AVAILABLE' group by asset_id`,
    );
    expect(accounts).toHaveLength(7);
    for (const row of accounts)
      expect(row).toMatchObject({ accounts: 3, balance: row.asset_id === pts ? '-500' : '0' });
    expect(accounts.filter((row) => row.asset_id !== pts).every((row) => row.uuid_v7)).toBe(true);
  });
});
