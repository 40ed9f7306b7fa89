import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { Lifecycle, Qualification } from './tiers.schemas.js';

export interface TierTable {
  organization_id: string;
  id: string;
  program_id: string;
  key: string;
  display_name: string | null;
  lifecycle: Lifecycle | null;
  status: 'ACTIVE' | 'ARCHIVED';
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface LevelTable {
  organization_id: string;
  id: string;
  tier_id: string;
  key: string;
  rank: number;
  display_name: string | null;
  color: string | null;
  icon_url: string | null;
  benefits: Record<string, unknown>;
  qualification: Qualification | null;
  created_at: Date;
  updated_at: Date;
}

export interface ParticipantTierTable {
  organization_id: string;
  participant_id: string;
  tier_id: string;
  program_id: string;
  level_key: string | null;
  rank: number | null;
  acquired_at: Date | null;
  expires_at: Date | null;
  period_end_at: Date | null;
  downgrade_level_key: string | null;
  downgrade_at: Date | null;
  lapses_at: Date | null;
  updated_at: Date;
}

type Tables = {
  tiers: TierTable;
  tier_levels: LevelTable;
  participant_tiers: ParticipantTierTable & { due_at: Date | null };
};

export type TierRow = TierTable;
export type LevelRow = LevelTable;
export type ParticipantTierRow = ParticipantTierTable;

const tables = (db: Database) => db.withTables<Tables>();

/** JSON columns are written as text: pg would send a JS array as a PostgreSQL array. */
const json = (value: unknown) => (value === null ? null : JSON.stringify(value));

export async function insertTier(db: Database, tier: TierRow): Promise<void> {
  await tables(db)
    .insertInto('tiers')
    .values({ ...tier, lifecycle: json(tier.lifecycle) as unknown as Lifecycle })
    .execute();
}

export async function updateTier(db: Database, tier: TierRow): Promise<void> {
  await tables(db)
    .updateTable('tiers')
    .set({
      display_name: tier.display_name,
      lifecycle: json(tier.lifecycle) as unknown as Lifecycle,
      status: tier.status,
      archived_at: tier.archived_at,
      updated_at: tier.updated_at,
    })
    .where('organization_id', '=', tier.organization_id)
    .where('id', '=', tier.id)
    .execute();
}

export async function saveLevel(db: Database, level: LevelRow): Promise<void> {
  const values = {
    ...level,
    benefits: json(level.benefits) as unknown as Record<string, unknown>,
    qualification: json(level.qualification) as unknown as Qualification,
  };
  await tables(db)
    .insertInto('tier_levels')
    .values(values)
    .onConflict((conflict) =>
      conflict.columns(['organization_id', 'id']).doUpdateSet({
        rank: values.rank,
        display_name: values.display_name,
        color: values.color,
        icon_url: values.icon_url,
        benefits: values.benefits,
        qualification: values.qualification,
        updated_at: values.updated_at,
      }),
    )
    .execute();
}

/** Moves every level of a tier out of the way of new ranks, so a PATCH may swap ranks. */
export async function parkLevelRanks(db: Database, organizationId: string, tierId: string): Promise<void> {
  await tables(db)
    .updateTable('tier_levels')
    .set({ rank: sql`rank + 1000000000` })
    .where('organization_id', '=', organizationId)
    .where('tier_id', '=', tierId)
    .execute();
}

export async function findTier(
  db: Database,
  organizationId: string,
  programId: string,
  key: string,
  forUpdate = false,
) {
  let query = tables(db)
    .selectFrom('tiers')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId)
    .where('key', '=', key);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function listTiers(
  db: Database,
  organizationId: string,
  programId: string,
  filter: { after?: string | undefined; limit: number; activeOnly?: boolean },
) {
  let query = tables(db)
    .selectFrom('tiers')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId);
  if (filter.activeOnly) query = query.where('status', '=', 'ACTIVE');
  if (filter.after !== undefined) query = query.where('key', '>', filter.after);
  return query
    .orderBy('key')
    .limit(filter.limit + 1)
    .execute();
}

export async function countTiers(db: Database, organizationId: string, programId: string): Promise<number> {
  const row = await tables(db)
    .selectFrom('tiers')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function listLevels(db: Database, organizationId: string, tierIds: string[]) {
  if (tierIds.length === 0) return [];
  return tables(db)
    .selectFrom('tier_levels')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('tier_id', 'in', tierIds)
    .orderBy('rank')
    .execute();
}

export async function findParticipantTier(
  db: Database,
  organizationId: string,
  participantId: string,
  tierId: string,
  forUpdate = false,
) {
  let query = tables(db)
    .selectFrom('participant_tiers')
    .select(participantTierColumns)
    .where('organization_id', '=', organizationId)
    .where('participant_id', '=', participantId)
    .where('tier_id', '=', tierId);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

const participantTierColumns = [
  'organization_id',
  'participant_id',
  'tier_id',
  'program_id',
  'level_key',
  'rank',
  'acquired_at',
  'expires_at',
  'period_end_at',
  'downgrade_level_key',
  'downgrade_at',
  'lapses_at',
  'updated_at',
] as const;

export async function listParticipantTiers(
  db: Database,
  organizationId: string,
  participantId: string,
  programId?: string,
) {
  let query = tables(db)
    .selectFrom('participant_tiers')
    .select(participantTierColumns)
    .where('organization_id', '=', organizationId)
    .where('participant_id', '=', participantId)
    .where('level_key', 'is not', null);
  if (programId !== undefined) query = query.where('program_id', '=', programId);
  return query.execute();
}

export async function saveParticipantTier(db: Database, row: ParticipantTierRow): Promise<void> {
  await saveParticipantTiers(db, [row]);
}

/**
 * Inserts or replaces tier rows (at most one per participant and tier) in one statement, each
 * column as one array parameter, so a claim's rows fit however many there are.
 */
export async function saveParticipantTiers(db: Database, rows: ParticipantTierRow[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <K extends keyof ParticipantTierRow>(key: K) => rows.map((row) => row[key]);
  await sql`insert into participant_tiers (organization_id, participant_id, tier_id, program_id, level_key,
      rank, acquired_at, expires_at, period_end_at, downgrade_level_key, downgrade_at, lapses_at, updated_at)
    select * from unnest(${column('organization_id')}::uuid[], ${column('participant_id')}::uuid[],
      ${column('tier_id')}::uuid[], ${column('program_id')}::uuid[], ${column('level_key')}::text[],
      ${column('rank')}::integer[], ${column('acquired_at')}::timestamptz[], ${column('expires_at')}::timestamptz[],
      ${column('period_end_at')}::timestamptz[], ${column('downgrade_level_key')}::text[],
      ${column('downgrade_at')}::timestamptz[], ${column('lapses_at')}::timestamptz[],
      ${column('updated_at')}::timestamptz[])
    on conflict (organization_id, participant_id, tier_id) do update set level_key = excluded.level_key,
      rank = excluded.rank, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at,
      period_end_at = excluded.period_end_at, downgrade_level_key = excluded.downgrade_level_key,
      downgrade_at = excluded.downgrade_at, lapses_at = excluded.lapses_at,
      updated_at = excluded.updated_at`.execute(db);
}

/**
 * Claims participant tier rows whose lifecycle is due, with their participants' rows. SKIP LOCKED
 * lets several processes run the job at once, each row going to one of them, and never waits: a
 * participant an event is changing is left for the next run. Holding the participant row too keeps
 * the lock order of state writes (participant first), so the job's counter rollover cannot deadlock
 * with an event.
 */
export async function claimDueParticipantTiers(db: Database, now: Date, limit: number) {
  const columns = sql.join(participantTierColumns.map((column) => sql.ref(`pt.${column}`)));
  const result = await sql<ParticipantTierRow>`
    select ${columns}
    from participant_tiers pt
    join participants p on p.organization_id = pt.organization_id and p.id = pt.participant_id
    where pt.due_at <= ${now}
    order by pt.due_at
    limit ${limit}
    for update of pt, p skip locked`.execute(db);
  return result.rows;
}

export async function findTierById(db: Database, organizationId: string, tierId: string) {
  return tables(db)
    .selectFrom('tiers')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', tierId)
    .executeTakeFirstOrThrow();
}

export async function listTiersByIds(db: Database, organizationId: string, tierIds: string[]) {
  if (tierIds.length === 0) return [];
  return tables(db)
    .selectFrom('tiers')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', 'in', tierIds)
    .execute();
}

/** An event restarts the ACTIVITY_REFRESH timer of a held level. */
export async function restartLapseTimer(
  db: Database,
  organizationId: string,
  participantId: string,
  tierId: string,
  lapsesAt: Date,
): Promise<void> {
  await tables(db)
    .updateTable('participant_tiers')
    .set({ lapses_at: lapsesAt })
    .where('organization_id', '=', organizationId)
    .where('participant_id', '=', participantId)
    .where('tier_id', '=', tierId)
    .where('level_key', 'is not', null)
    .execute();
}

/** Holders keep a copy of their level's rank (for reads and comparisons); a PATCH refreshes it. */
export async function updateHolderRanks(
  db: Database,
  organizationId: string,
  tierId: string,
  levelKey: string,
  rank: number,
): Promise<void> {
  await tables(db)
    .updateTable('participant_tiers')
    .set({ rank })
    .where('organization_id', '=', organizationId)
    .where('tier_id', '=', tierId)
    .where('level_key', '=', levelKey)
    .where('rank', '<>', rank)
    .execute();
}
