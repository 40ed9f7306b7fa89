// The CSV shape of the ledger's lists and reports: one row per posting for journal entries (the
// entry's fields repeated, as accounting tools import them), and one per expiration bucket for the
// expiration schedule. Pure: the routes stream the pages.
import type { Static } from 'typebox';
import { type CsvColumn, csvText, examplesOf, fieldColumns } from '../../platform/http/csv.js';
import { AssetBalance, JournalEntry, WalletBalance } from './ledger.schemas.js';
import {
  ExpirationSchedule,
  LedgerSummaryRow,
  LiabilityReport,
  RollforwardRow,
  rollforwardMovements,
} from './reports.schemas.js';

type Posting = JournalEntry['postings'][number];
export type PostingRow = { entry: JournalEntry; posting: Posting };

const entryFields = [
  'action_type',
  'description',
  'program_id',
  'program_name',
  'event_id',
  'rule_id',
  'reference_id',
  'created_by_api_key_id',
  'sequence_number',
  'entry_hash',
] as const;
const postingFields = [
  'asset_id',
  'asset_symbol',
  'bucket',
  'entity_type',
  'system_account',
  'participant_id',
  'group_id',
  'amount',
] as const;

export const postingColumns: CsvColumn<PostingRow>[] = [
  ['journal_entry_id', (row) => row.entry.id],
  ['created_at', (row) => row.entry.created_at],
  ...entryFields.map((field) => [field, (row: PostingRow) => row.entry[field]] as const),
  ['posting_id', (row) => row.posting.id],
  ...postingFields.map((field) => [field, (row: PostingRow) => row.posting[field]] as const),
];

/** Each page of entries as the rows of their postings, in the entries' order. */
export async function* postingRowsOf(pages: AsyncIterable<JournalEntry[]>): AsyncGenerator<PostingRow[]> {
  for await (const entries of pages) yield postingRowsOfEntries(entries);
}

function postingRowsOfEntries(entries: JournalEntry[]): PostingRow[] {
  return entries.flatMap((entry) => entry.postings.map((posting) => ({ entry, posting })));
}

export const balanceColumns = fieldColumns<{
  asset_id: string;
  available: string;
  held: string;
  deferred: string;
}>(['asset_id', 'available', 'held', 'deferred']);

export const walletBalanceColumns = fieldColumns<Static<typeof WalletBalance>>([
  'asset_id',
  'available',
  'held',
  'deferred',
  'issuance_policy',
]);

export const ledgerSummaryColumns = fieldColumns<LedgerSummaryRow>([
  'asset_id',
  'asset_name',
  'asset_symbol',
  'total_issued',
  'total_redeemed',
  'total_expired',
  'total_forfeited',
  'current_balance',
  'participant_count',
  'opening_balance',
  'closing_balance',
  'period_issued',
  'period_redeemed',
  'period_expired',
  'period_forfeited',
  'other_adjustments_net',
]);

export const liabilityColumns = fieldColumns<LiabilityReport['data'][number]>([
  'asset_id',
  'asset_name',
  'asset_symbol',
  'scale',
  'program_id',
  'program_name',
  'bucket',
  'balance',
]);

type RollforwardLine = Record<string, string | number | null>;

export const rollforwardColumns = fieldColumns<RollforwardLine>([
  'asset_id',
  'asset_name',
  'asset_symbol',
  'scale',
  'program_id',
  'program_name',
  'opening_balance',
  ...rollforwardMovements,
  'closing_balance',
]);

type ScheduleBucket = {
  schedule: ExpirationSchedule;
  bucket: ExpirationSchedule['buckets'][number] | undefined;
};

const scheduleFields = [
  'asset_id',
  'asset_name',
  'asset_symbol',
  'scale',
  'total_outstanding',
  'never_expiring',
  'expiring_before_window',
  'expiring_after_window',
] as const;

export const expirationColumns: CsvColumn<ScheduleBucket>[] = [
  ...scheduleFields.map((field) => [field, (row: ScheduleBucket) => row.schedule[field]] as const),
  ['bucket_start', (row) => row.bucket?.bucket_start],
  ['bucket_end', (row) => row.bucket?.bucket_end],
  ['amount', (row) => row.bucket?.amount],
  ['lot_count', (row) => row.bucket?.lot_count],
];

/** One row per bucket of each asset's schedule; an asset without buckets keeps one row of totals. */
export function expirationRowsOf(schedules: ExpirationSchedule[]): ScheduleBucket[] {
  return schedules.flatMap((schedule): ScheduleBucket[] =>
    schedule.buckets.length === 0
      ? [{ schedule, bucket: undefined }]
      : schedule.buckets.map((bucket) => ({ schedule, bucket })),
  );
}

/** What each download looks like, from the JSON examples of the same schemas (the API reference). */
export const csvExamples = {
  balances: csvText(balanceColumns, examplesOf<Static<typeof AssetBalance>>(AssetBalance)),
  walletBalances: csvText(walletBalanceColumns, examplesOf<Static<typeof WalletBalance>>(WalletBalance)),
  journalEntries: csvText(postingColumns, postingRowsOfEntries(examplesOf<JournalEntry>(JournalEntry))),
  ledgerSummary: csvText(ledgerSummaryColumns, examplesOf<LedgerSummaryRow>(LedgerSummaryRow)),
  liability: csvText(
    liabilityColumns,
    examplesOf<LiabilityReport>(LiabilityReport).flatMap((report) => report.data),
  ),
  rollforward: csvText(rollforwardColumns, examplesOf<RollforwardLine>(RollforwardRow)),
  expirationSchedule: csvText(
    expirationColumns,
    expirationRowsOf(examplesOf<ExpirationSchedule>(ExpirationSchedule)),
  ),
};
