// A program's tiers loaded once for a claim of events, and its holders' tier rows loaded at once,
// so the event processor can give rules `participant.tiers` and see whether auto-qualification
// would change anything without a statement per event. When it would, the processor applies the
// event through qualifyTiers, the one place levels change.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { lapseDeadline, qualificationChange } from './tier-state.service.js';
import type { TierWithLevels } from './tiers.service.js';
import type { ParticipantTierRow } from './tiers.store.js';

export interface TierPlan {
  /** ACTIVE tiers with their levels: what qualification looks at. */
  active: TierWithLevels[];
  /** Every tier's key by id, archived ones too: rules still read the levels held in them. */
  keysById: Map<string, string>;
  /** Some tier restarts an ACTIVITY_REFRESH timer on every event. */
  tracksActivity: boolean;
}

/** The plan of a program's tiers, all of them (loadProgramTiers with activeOnly false), at `now`. */
export function tierPlanOf(tiers: TierWithLevels[], now: Date): TierPlan {
  const active = tiers.filter(({ tier }) => tier.status === 'ACTIVE');
  return {
    active,
    keysById: new Map(tiers.map(({ tier }) => [tier.id, tier.key])),
    tracksActivity: active.some(({ tier }) => lapseDeadline(tier.lifecycle, now) !== null),
  };
}

/** The tier rows of many holders in one program, by participant id, locked until the transaction ends. */
export async function loadHolderTierRows(
  db: Database,
  organizationId: string,
  programId: string,
  participantIds: string[],
): Promise<Map<string, ParticipantTierRow[]>> {
  const rows = new Map<string, ParticipantTierRow[]>(participantIds.map((id) => [id, []]));
  if (participantIds.length === 0) return rows;
  const result = await sql<ParticipantTierRow>`select * from participant_tiers
    where organization_id = ${organizationId} and program_id = ${programId}
      and participant_id = any(${participantIds}::uuid[])
    order by participant_id, tier_id
    for update`.execute(db);
  for (const row of result.rows) rows.get(row.participant_id)?.push(row);
  return rows;
}

/** `participant.tiers` as rules read it: `{tier_key: {level, rank}}` of the levels held. */
export function tierLevelsForRules(
  plan: TierPlan,
  rows: ParticipantTierRow[],
): Record<string, { level: string; rank: number }> {
  const levels: Record<string, { level: string; rank: number }> = {};
  for (const row of rows) {
    const key = plan.keysById.get(row.tier_id);
    if (key !== undefined && row.level_key !== null && row.rank !== null)
      levels[key] = { level: row.level_key, rank: row.rank };
  }
  return levels;
}

/** Whether qualifyTiers would write anything for a holder whose counters read `counters`. */
export function qualificationWouldWrite(
  plan: TierPlan,
  rows: ParticipantTierRow[],
  counters: Record<string, string>,
  now: Date,
): boolean {
  return plan.active.some((tier) => {
    const current = rows.find((row) => row.tier_id === tier.tier.id);
    return qualificationChange(tier, current, counters, now) !== undefined;
  });
}
