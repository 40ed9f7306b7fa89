// SQL of redemptions, the lots they consumed, and their reversals.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageInKeyOrder, pageNewestFirst } from '../../platform/db/keyset.js';
import type { LedgerEntityFinder, LedgerEntityType } from '../programs/index.js';

/**
 * A participant or group of the organization that a program may name as its redemption target.
 * Ids are UUIDv7 from one generator, so at most one of the two tables holds a given id.
 */
export const findLedgerEntity: LedgerEntityFinder = async (db, organizationId, id) => {
  const result = await sql<{ type: LedgerEntityType; status: string }>`
    select 'PARTICIPANT' as type, status from participants where organization_id = ${organizationId} and id = ${id}
    union all
    select 'GROUP' as type, status from groups where organization_id = ${organizationId} and id = ${id}`.execute(
    db,
  );
  return result.rows[0];
};

export type RedemptionStatus = 'COMPLETED' | 'PARTIALLY_REVERSED' | 'FULLY_REVERSED';

export interface RedemptionRow {
  organization_id: string;
  id: string;
  participant_id: string;
  program_id: string;
  asset_id: string;
  /** Minor units (NUMERIC, read as strings). */
  amount: string;
  reward_id: string | null;
  quantity: number | null;
  unit_cost: string | null;
  reversed_amount: string;
  reversed_quantity: number | null;
  status: RedemptionStatus;
  description: string;
  journal_entry_id: string;
  redemption_target_type: 'SYSTEM_REDEMPTION' | 'SYSTEM_BREAKAGE' | 'LEDGER_ENTITY';
  redemption_target_entity_id: string | null;
  redemption_target_entity_type: LedgerEntityType | null;
  created_at: Date;
  updated_at: Date;
}

export interface RedemptionLotRow {
  organization_id: string;
  redemption_id: string;
  position: number;
  lot_id: string;
  amount: string;
  restored: string;
}

export interface ReversalRow {
  organization_id: string;
  id: string;
  redemption_id: string;
  amount: string;
  quantity: number | null;
  reason: string;
  journal_entry_id: string;
  created_at: Date;
}

type Tables = {
  redemptions: RedemptionRow;
  redemption_lots: RedemptionLotRow;
  redemption_reversals: ReversalRow;
};
const tables = (db: Database) => db.withTables<Tables>();

export async function insertRedemption(db: Database, row: RedemptionRow, lots: RedemptionLotRow[]) {
  await tables(db).insertInto('redemptions').values(row).execute();
  if (lots.length > 0) await tables(db).insertInto('redemption_lots').values(lots).execute();
}

export async function findRedemption(db: Database, organizationId: string, id: string, forUpdate = false) {
  let query = tables(db)
    .selectFrom('redemptions')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

/** The lots a redemption consumed, in consumption order. */
export async function listRedemptionLots(db: Database, organizationId: string, redemptionIds: string[]) {
  if (redemptionIds.length === 0) return [];
  return tables(db)
    .selectFrom('redemption_lots')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('redemption_id', 'in', redemptionIds)
    .orderBy('redemption_id')
    .orderBy('position')
    .execute();
}

export async function updateRedemption(
  db: Database,
  organizationId: string,
  id: string,
  changes: Pick<RedemptionRow, 'reversed_amount' | 'reversed_quantity' | 'status' | 'updated_at'>,
) {
  await tables(db)
    .updateTable('redemptions')
    .set(changes)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .execute();
}

export async function setRestored(
  db: Database,
  organizationId: string,
  redemptionId: string,
  restored: { position: number; restored: bigint }[],
) {
  for (const lot of restored) {
    await tables(db)
      .updateTable('redemption_lots')
      .set({ restored: lot.restored.toString() })
      .where('organization_id', '=', organizationId)
      .where('redemption_id', '=', redemptionId)
      .where('position', '=', lot.position)
      .execute();
  }
}

/** Units of a reward a participant holds from redemptions, net of reversals. */
export async function sumParticipantUnits(
  db: Database,
  organizationId: string,
  rewardId: string,
  participantId: string,
): Promise<number> {
  const result = await sql<{
    units: string;
  }>`select coalesce(sum(quantity - reversed_quantity), 0)::text as units
    from redemptions where organization_id = ${organizationId} and reward_id = ${rewardId}
      and participant_id = ${participantId}`.execute(db);
  return Number(result.rows[0]?.units ?? '0');
}

export interface RedemptionFilter {
  status?: RedemptionStatus | undefined;
  rewardId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  after: [unknown, unknown] | undefined;
  limit: number;
}

/** A participant's redemptions, newest first. */
export async function listRedemptions(
  db: Database,
  organizationId: string,
  participantId: string,
  f: RedemptionFilter,
) {
  let query = tables(db)
    .selectFrom('redemptions')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('participant_id', '=', participantId);
  if (f.status !== undefined) query = query.where('status', '=', f.status);
  if (f.rewardId !== undefined) query = query.where('reward_id', '=', f.rewardId);
  if (f.from !== undefined) query = query.where('created_at', '>=', f.from);
  if (f.to !== undefined) query = query.where('created_at', '<=', f.to);
  return pageNewestFirst(query, f).execute();
}

export async function insertReversal(db: Database, row: ReversalRow) {
  await tables(db).insertInto('redemption_reversals').values(row).execute();
}

export async function findReversal(db: Database, organizationId: string, id: string) {
  return tables(db)
    .selectFrom('redemption_reversals')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

/** A redemption's reversals, oldest first. */
export async function listReversals(
  db: Database,
  organizationId: string,
  redemptionId: string,
  f: { after: [unknown, unknown] | undefined; limit: number },
) {
  const query = tables(db)
    .selectFrom('redemption_reversals')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('redemption_id', '=', redemptionId);
  return pageInKeyOrder(query, {
    column: 'created_at',
    direction: 'asc',
    after: f.after,
    limit: f.limit,
  }).execute();
}
