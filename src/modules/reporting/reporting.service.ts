// Reports across modules, computed in real time: the activity of each program since a time.
import { type Clock, toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { formatAmount } from '../../platform/money.js';
import { findProgramRow } from '../programs/index.js';
import type {
  ProgramActivity,
  ProgramActivityQuery,
  ProgramOverview,
  ProgramOverviewQuery,
} from './reporting.schemas.js';
import * as store from './reporting.store.js';

const beginning = new Date('0001-01-01T00:00:00Z');

export async function programActivity(db: Database, organizationId: string, query: ProgramActivityQuery) {
  if (query.program_id !== undefined) await findProgramRow(db, organizationId, query.program_id);
  const filter = {
    since: query.since === undefined ? beginning : new Date(query.since),
    programId: query.program_id,
  };
  const [programs, events, entries, participants, amounts] = await Promise.all([
    store.listPrograms(db, organizationId, filter),
    store.countEvents(db, organizationId, filter),
    store.countJournalEntries(db, organizationId, filter),
    store.countParticipants(db, organizationId, filter),
    store.sumAmounts(db, organizationId, filter),
  ]);
  const data = programs.map((program) =>
    activityOf(
      program,
      events.find((row) => row.program_id === program.id),
      entries.find((row) => row.program_id === program.id),
      Number(participants.find((row) => row.program_id === program.id)?.count ?? 0),
      amounts.filter((row) => row.program_id === program.id),
    ),
  );
  return { since: query.since ?? null, data };
}

function activityOf(
  program: { id: string; name: string },
  events: store.CountRow | undefined,
  entries: store.CountRow | undefined,
  uniqueParticipants: number,
  amounts: store.AmountRow[],
): ProgramActivity {
  const times = [events?.last_at, entries?.last_at].filter((at): at is Date => at instanceof Date);
  const last = times.length === 0 ? null : new Date(Math.max(...times.map((at) => at.getTime())));
  return {
    program_id: program.id,
    program_name: program.name,
    event_count: Number(events?.count ?? 0),
    journal_count: Number(entries?.count ?? 0),
    total_issued: sumAcrossScales(amounts, 'issued'),
    total_redeemed: sumAcrossScales(amounts, 'redeemed'),
    unique_participants: uniqueParticipants,
    last_activity_at: toIsoOrNull(last),
    assets: amounts.map((row) => ({
      asset_id: row.asset_id,
      asset_symbol: row.asset_symbol,
      scale: row.scale,
      total_issued: formatAmount(BigInt(row.issued), row.scale),
      total_redeemed: formatAmount(BigInt(row.redeemed), row.scale),
    })),
  };
}

/** Decimal sum of every asset's figure, exact, at the largest scale among them. */
function sumAcrossScales(amounts: store.AmountRow[], field: 'issued' | 'redeemed'): string {
  const scale = Math.max(0, ...amounts.map((row) => row.scale));
  const total = amounts.reduce((sum, row) => sum + BigInt(row[field]) * 10n ** BigInt(scale - row.scale), 0n);
  return formatAmount(total, scale);
}

const recentWindowMinutes = 5;

/** The figures the console's overview shows beside the ledger's liability report. */
export async function programOverview(
  db: Database,
  clock: Clock,
  organizationId: string,
  query: ProgramOverviewQuery,
): Promise<ProgramOverview> {
  await findProgramRow(db, organizationId, query.program_id);
  const now = clock();
  const since = new Date(now.getTime() - recentWindowMinutes * 60_000);
  const counts = await store.countOverview(db, organizationId, query.program_id, since);
  const recentEvents = Number(counts.recent_events);
  return {
    program_id: query.program_id,
    as_of: toIso(now),
    participants: Number(counts.participants),
    events_last_5_minutes: recentEvents,
    events_per_minute: Math.round((recentEvents / recentWindowMinutes) * 10) / 10,
    backlog: Number(counts.backlog),
    failed: Number(counts.failed),
  };
}
