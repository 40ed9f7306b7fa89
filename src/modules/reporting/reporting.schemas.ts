import { type Static, Type } from 'typebox';
import { ExportFormatField } from '../../platform/http/csv.js';
import { NullableTimestamp, Timestamp, Uuid } from '../../platform/http/schemas.js';

export const ProgramActivityQuery = Type.Object(
  {
    since: Type.Optional({ ...Timestamp, description: 'Activity at or after this time; omitted, all of it' }),
    program_id: Type.Optional(Uuid),
    ...ExportFormatField,
  },
  { additionalProperties: false },
);
export type ProgramActivityQuery = Static<typeof ProgramActivityQuery>;

const AssetActivity = Type.Object({
  asset_id: Uuid,
  asset_symbol: Type.String(),
  scale: Type.Integer(),
  total_issued: Type.String(),
  total_redeemed: Type.String({ description: 'Debits and redemptions, net of reversals' }),
});

export const ProgramActivity = Type.Object(
  {
    program_id: Uuid,
    program_name: Type.String(),
    event_count: Type.Integer(),
    journal_count: Type.Integer(),
    total_issued: Type.String({ description: 'Sum over the assets below, at the largest of their scales' }),
    total_redeemed: Type.String({ description: 'Sum over the assets below, at the largest of their scales' }),
    unique_participants: Type.Integer({ description: 'Participants with an event or a posting' }),
    last_activity_at: NullableTimestamp,
    assets: Type.Array(AssetActivity),
  },
  {
    $id: 'ProgramActivity',
    examples: [
      {
        program_id: '01a24348-6354-7000-b5ec-32f4eafe1d0c',
        program_name: 'Shop Rewards',
        event_count: 3,
        journal_count: 2,
        total_issued: '1120',
        total_redeemed: '0',
        unique_participants: 1,
        last_activity_at: '2026-12-04T22:59:09.489Z',
        assets: [
          {
            asset_id: '01a24348-637b-7000-809c-5ccd921fa143',
            asset_symbol: 'SHOP',
            scale: 0,
            total_issued: '1120',
            total_redeemed: '0',
          },
        ],
      },
    ],
    description: 'Activity per program since a time',
  },
);
export type ProgramActivity = Static<typeof ProgramActivity>;

export const ProgramActivityReport = Type.Object(
  {
    since: NullableTimestamp,
    data: Type.Array(Type.Ref('ProgramActivity')),
  },
  { description: 'Activity per program' },
);

export const ProgramOverviewQuery = Type.Object(
  { program_id: { ...Uuid, description: 'The program to describe' } },
  { additionalProperties: false },
);
export type ProgramOverviewQuery = Static<typeof ProgramOverviewQuery>;

export const ProgramOverview = Type.Object(
  {
    program_id: Uuid,
    as_of: { ...Timestamp, description: 'When the figures were read' },
    participants: Type.Integer({
      description: 'Participants enrolled in the program, whatever their status',
    }),
    events_last_5_minutes: Type.Integer({
      description: 'Events accepted for the program in the last 5 minutes',
    }),
    events_per_minute: Type.Number({
      description: 'events_last_5_minutes / 5: the recent ingestion rate, rounded to 0.1',
    }),
    backlog: Type.Integer({ description: 'Events accepted but not processed yet (PENDING or PROCESSING)' }),
    failed: Type.Integer({ description: 'Events whose processing failed (FAILED); each can be retried' }),
  },
  {
    $id: 'ProgramOverview',
    description: "A program's health now: participants, ingestion rate, backlog and failed events",
    examples: [
      {
        program_id: '01a2430b-cbe7-7000-badd-06d41419e1e2',
        as_of: '2026-12-04T21:53:31.036Z',
        participants: 100000,
        events_last_5_minutes: 1520,
        events_per_minute: 304,
        backlog: 12,
        failed: 3,
      },
    ],
  },
);
export type ProgramOverview = Static<typeof ProgramOverview>;
