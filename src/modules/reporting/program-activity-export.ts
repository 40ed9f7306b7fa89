// The CSV shape of the program activity report: one row per program and asset. Pure.
import { type CsvColumn, csvText, examplesOf } from '../../platform/http/csv.js';
import { ProgramActivity } from './reporting.schemas.js';

type AssetRow = { program: ProgramActivity; asset: ProgramActivity['assets'][number] | undefined };

const programFields = [
  'program_id',
  'program_name',
  'event_count',
  'journal_count',
  'total_issued',
  'total_redeemed',
  'unique_participants',
  'last_activity_at',
] as const;

/** The program's totals on every row, then one asset's figures (empty for a program without assets). */
export const activityColumns: CsvColumn<AssetRow>[] = [
  ...programFields.map((field) => [field, (row: AssetRow) => row.program[field]] as const),
  ['asset_id', (row) => row.asset?.asset_id],
  ['asset_symbol', (row) => row.asset?.asset_symbol],
  ['asset_total_issued', (row) => row.asset?.total_issued],
  ['asset_total_redeemed', (row) => row.asset?.total_redeemed],
];

export function activityRowsOf(programs: ProgramActivity[]): AssetRow[] {
  return programs.flatMap((program): AssetRow[] =>
    program.assets.length === 0
      ? [{ program, asset: undefined }]
      : program.assets.map((asset) => ({ program, asset })),
  );
}

/** The download as the API reference shows it, from the JSON example of the same schema. */
export const activityCsvExample = csvText(activityColumns, activityRowsOf(examplesOf(ProgramActivity)));
