import { Type } from 'typebox';
import type { ErrorCode } from '../../platform/errors.js';
import { jsonOrCsvResponse, keysetPages, onePage, sendCsv, wantsCsv } from '../../platform/http/csv.js';
import type { RouteDeps, RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, IdParams, operationId, Page } from '../../platform/http/schemas.js';
import { pageSizeMax } from '../../platform/limits.js';
import { findProgramRow } from '../programs/index.js';
import { participantOwner, programWallet } from './accounts.js';
import { checkIntegrity } from './integrity.js';
import {
  ActivityItem,
  AdjustBody,
  AdjustResponse,
  AssetBalance,
  BalanceOperationBody,
  BalanceOperationResponse,
  BalancesQuery,
  HistoryQuery,
  IntegrityQuery,
  IntegrityReport,
  JournalEntriesQuery,
  JournalEntry,
  Lot,
  LotsQuery,
  ProgramAssetParams,
  Statement,
  StatementLine,
  StatementQuery,
  WalletBalance,
  WalletBody,
  WalletResponse,
} from './ledger.schemas.js';
import * as service from './ledger.service.js';
import {
  balanceColumns,
  csvExamples,
  expirationColumns,
  expirationRowsOf,
  ledgerSummaryColumns,
  liabilityColumns,
  postingColumns,
  postingRowsOf,
  rollforwardColumns,
  walletBalanceColumns,
} from './ledger-exports.js';
import * as reads from './ledger-reads.service.js';
import * as reports from './reports.js';
import {
  ExpirationSchedule,
  ExpirationScheduleQuery,
  LedgerSummaryQuery,
  LedgerSummaryRow,
  LiabilityQuery,
  LiabilityReport,
  RollforwardQuery,
  RollforwardRow,
} from './reports.schemas.js';

type App = Parameters<RoutePlugin>[0];

const tags = ['Balances'];
const operationErrorCodes = [
  'not_found',
  'invalid_scale',
  'insufficient_balance',
  'idempotency_conflict',
  'asset_archived',
  'asset_not_linked',
  'unsupported_inventory_mode',
] as const;

/** path, operation, summary, description */
const operations: [string, service.BalanceOperation, string, string][] = [
  [
    'hold',
    'HOLD',
    'Hold AVAILABLE funds (AVAILABLE to HELD); LOT holds stamp reference_id on the lots',
    'Name the hold with reference_id to release or settle it later. Refused beyond the available balance (422 insufficient_balance).',
  ],
  [
    'release',
    'RELEASE',
    'Release HELD funds back to AVAILABLE, by amount and/or reference_id',
    'The amount given, or everything held under reference_id.',
  ],
  [
    'forfeit',
    'FORFEIT',
    'Forfeit AVAILABLE or HELD funds to SYSTEM_BREAKAGE (bucket required)',
    'The value leaves the holder for good, for example on fraud or account closure.',
  ],
  [
    'void-hold',
    'VOID_HOLD',
    'Void provisional HELD lots by reference_id, back to their source (LOT only)',
    'Provisional credits (HELD with a reference_id) go back to where they came from, issuance or the program wallet, as if never credited.',
  ],
];

export const ledgerRoutes: RoutePlugin = async (app, deps) => {
  await registerBalanceRoutes(app, deps);
  registerBalanceCommands(app, deps, participantCommands);
  await registerActivityRoutes(app, deps);
  await registerWalletRoutes(app, deps);
  await registerWalletReadRoutes(app, deps);
  await registerJournalRoutes(app, deps);
  await registerReportRoutes(app, deps);
};

const registerBalanceRoutes: RoutePlugin = async (app, { db }) => {
  app.get(
    '/v1/participants/:id/balances',
    {
      schema: {
        tags,
        operationId: 'listParticipantBalances',
        description:
          "One row per asset: available, held and deferred, as decimal strings at the asset's scale.",
        summary: "A participant's balances per asset",
        params: IdParams,
        querystring: BalancesQuery,
        response: {
          200: jsonOrCsvResponse(
            Page(Type.Ref('AssetBalance')),
            'One page of balances, or every balance as CSV',
            csvExamples.balances,
          ),
          ...errorResponses('not_found', 'invalid_cursor'),
        },
      },
    },
    async (request, reply) => {
      const { organizationId } = request.caller;
      await reads.requireParticipantExists(db, organizationId, request.params.id);
      const owner = participantOwner(request.params.id);
      if (!wantsCsv(request)) return reads.listBalances(db, organizationId, owner, request.query);
      const pages = keysetPages(request.query.cursor, (cursor) =>
        reads.listBalances(db, organizationId, owner, { ...request.query, cursor, limit: pageSizeMax }),
      );
      return sendCsv(reply, 'balances', balanceColumns, pages);
    },
  );

  app.get(
    '/v1/participants/:id/balances/lots',
    {
      schema: {
        tags,
        operationId: 'listParticipantLots',
        description:
          'Each credit of a LOT asset is a lot with its own expiry and maturity; spending takes the lots that expire first. Filter by status, expiry window or reference_id.',
        summary: "A participant's lots of a LOT asset, newest first",
        params: IdParams,
        querystring: LotsQuery,
        response: {
          200: Page(Type.Ref('Lot')),
          ...errorResponses('not_found', 'invalid_cursor', 'unsupported_inventory_mode'),
        },
      },
    },
    async (request) => {
      const { organizationId } = request.caller;
      await reads.requireParticipantExists(db, organizationId, request.params.id);
      return reads.listLots(db, organizationId, participantOwner(request.params.id), request.query);
    },
  );
};

/** Where a holder's balance commands live: participants here, groups in their own module. */
export interface HolderCommandRoutes {
  base: string;
  noun: string;
  tags: string[];
  holderOf: (id: string) => service.BalanceHolder;
  /** The operations offered besides adjust. */
  operations: service.BalanceOperation[];
  /** Codes the holder's check answers besides not_found. */
  refusals: ErrorCode[];
}

const participantCommands: HolderCommandRoutes = {
  base: '/v1/participants/:id',
  noun: 'participant',
  tags,
  holderOf: service.participantHolder,
  operations: ['HOLD', 'RELEASE', 'FORFEIT', 'VOID_HOLD'],
  refusals: ['participant_inactive'],
};

/** adjust, hold, release, forfeit and void-hold of one kind of holder: one schema for every holder. */
export function registerBalanceCommands(app: App, { db, clock }: RouteDeps, routes: HolderCommandRoutes) {
  app.post(
    `${routes.base}/balances/adjust`,
    {
      schema: {
        tags: routes.tags,
        operationId: operationId('adjust', routes.noun, 'balance'),
        summary: `Credit or debit a ${routes.noun} balance`,
        description:
          'DEBIT fails with 422 insufficient_balance unless allow_negative. Accrue extensions: idempotency_key, ' +
          'reference_id, and for LOT credits expires_at / matures_at (Go duration or timestamp).',
        params: IdParams,
        body: AdjustBody,
        response: {
          200: Type.Ref('AdjustResponse'),
          ...errorResponses(...operationErrorCodes, ...routes.refusals, 'max_transaction_amount_exceeded'),
        },
      },
    },
    async (request) =>
      service.adjustBalance(db, clock, request.caller, routes.holderOf(request.params.id), request.body),
  );
  for (const [path, operation, summary, description] of operations) {
    if (!routes.operations.includes(operation)) continue;
    app.post(
      `${routes.base}/balances/${path}`,
      {
        schema: {
          tags: routes.tags,
          operationId: operationId(path, routes.noun, 'balance'),
          summary,
          description,
          params: IdParams,
          body: BalanceOperationBody,
          response: {
            200: Type.Ref('BalanceOperationResponse'),
            ...errorResponses(...operationErrorCodes, ...routes.refusals),
          },
        },
      },
      async (request) =>
        service.operateBalance(
          db,
          clock,
          request.caller,
          routes.holderOf(request.params.id),
          operation,
          request.body,
        ),
    );
  }
}

const registerActivityRoutes: RoutePlugin = async (app, { db }) => {
  app.get(
    '/v1/participants/:id/statement',
    {
      schema: {
        tags,
        operationId: 'getParticipantStatement',
        description:
          "Every movement of one asset with the balance after it, optionally for a bucket and a time window: what a member's statement shows.",
        summary: 'Running-balance statement of one asset, oldest first',
        params: IdParams,
        querystring: StatementQuery,
        response: { 200: Type.Ref('Statement'), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) => {
      const { organizationId } = request.caller;
      await reads.requireParticipantExists(db, organizationId, request.params.id);
      return reads.getStatement(db, organizationId, participantOwner(request.params.id), request.query);
    },
  );

  app.get(
    '/v1/participants/:id/activity/history',
    {
      schema: {
        tags,
        operationId: 'listParticipantLedgerHistory',
        description:
          "Every posting on the participant's accounts, with its journal entry, action type, bucket and signed amount.",
        summary: "A participant's ledger history, oldest first",
        params: IdParams,
        querystring: HistoryQuery,
        response: { 200: Page(Type.Ref('ActivityItem')), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) => {
      const { organizationId } = request.caller;
      await reads.requireParticipantExists(db, organizationId, request.params.id);
      return reads.listHistory(db, organizationId, participantOwner(request.params.id), request.query);
    },
  );
};

const registerWalletRoutes: RoutePlugin = async (app, { db, clock }) => {
  const walletTags = ['Program wallets'];
  for (const [path, actionType] of [
    ['fund', 'FUND'],
    ['burn', 'BURN'],
  ] as const) {
    app.post(
      `/v1/programs/:id/assets/:assetId/${path}`,
      {
        schema: {
          tags: walletTags,
          operationId: operationId(path, 'program wallet'),
          description:
            actionType === 'FUND'
              ? "Issues value into the program's wallet of a PREFUNDED asset; credits to participants then draw from it and are refused when it runs out."
              : "Moves wallet value to breakage, for example at the end of a campaign. Refused beyond the wallet's balance (422 insufficient_balance).",
          summary:
            actionType === 'FUND' ? 'Fund a PREFUNDED program wallet' : 'Burn wallet balance to breakage',
          params: ProgramAssetParams,
          body: WalletBody,
          response: {
            200: Type.Ref('WalletResponse'),
            ...errorResponses(
              'not_found',
              'invalid_scale',
              'insufficient_balance',
              'asset_not_prefunded',
              'asset_archived',
              'asset_not_linked',
            ),
          },
        },
      },
      async (request) =>
        service.moveWallet(
          db,
          clock,
          request.caller,
          { programId: request.params.id, assetId: request.params.assetId },
          request.body,
          actionType,
        ),
    );
  }
};

const registerWalletReadRoutes: RoutePlugin = async (app, { db }) => {
  const walletTags = ['Program wallets'];
  app.get(
    '/v1/programs/:id/balance',
    {
      schema: {
        tags: walletTags,
        operationId: 'listProgramWalletBalances',
        description: 'One row per PREFUNDED asset linked to the program.',
        summary: 'Program wallet balances (PREFUNDED assets)',
        params: IdParams,
        querystring: BalancesQuery,
        response: {
          200: jsonOrCsvResponse(
            Page(Type.Ref('WalletBalance')),
            'One page of wallet balances, or every one as CSV',
            csvExamples.walletBalances,
          ),
          ...errorResponses('not_found', 'invalid_cursor'),
        },
      },
    },
    async (request, reply) => {
      const { organizationId } = request.caller;
      await findProgramRow(db, organizationId, request.params.id);
      const wallet = programWallet(request.params.id);
      if (!wantsCsv(request)) return reads.listBalances(db, organizationId, wallet, request.query, true);
      const pages = keysetPages(request.query.cursor, (cursor) =>
        reads.listBalances(
          db,
          organizationId,
          wallet,
          { ...request.query, cursor, limit: pageSizeMax },
          true,
        ),
      );
      return sendCsv(reply, 'wallet-balances', walletBalanceColumns, pages);
    },
  );

  app.get(
    '/v1/programs/:id/history',
    {
      schema: {
        tags: walletTags,
        operationId: 'listProgramWalletHistory',
        description:
          "Every movement of the program's wallets. Filter by asset, bucket, time or the events' time.",
        summary: 'Program wallet history: funds, burns and credit draws',
        params: IdParams,
        querystring: HistoryQuery,
        response: { 200: Page(Type.Ref('ActivityItem')), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) => {
      await findProgramRow(db, request.caller.organizationId, request.params.id);
      return reads.listHistory(
        db,
        request.caller.organizationId,
        programWallet(request.params.id),
        request.query,
      );
    },
  );

  app.get(
    '/v1/programs/:id/statement',
    {
      schema: {
        tags: walletTags,
        operationId: 'getProgramWalletStatement',
        description:
          'Every movement of one wallet asset with the balance after it, optionally for a time window.',
        summary: 'Program wallet running-balance statement',
        params: IdParams,
        querystring: StatementQuery,
        response: { 200: Type.Ref('Statement'), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) => {
      await findProgramRow(db, request.caller.organizationId, request.params.id);
      return reads.getStatement(
        db,
        request.caller.organizationId,
        programWallet(request.params.id),
        request.query,
      );
    },
  );
};

const registerJournalRoutes: RoutePlugin = async (app, { db, clock }) => {
  const journalTags = ['Ledger'];
  app.get(
    '/v1/journal-entries',
    {
      schema: {
        tags: journalTags,
        operationId: 'listJournalEntries',
        description:
          'Every balance change is one journal entry whose postings sum to zero per asset. Filter by program, participant, group, asset, bucket, event, rule, action type, reference_id, amount range or time.',
        summary: 'List journal entries, newest first',
        querystring: JournalEntriesQuery,
        response: {
          200: jsonOrCsvResponse(
            Page(Type.Ref('JournalEntry')),
            'One page of journal entries, or every matching posting as a CSV row',
            csvExamples.journalEntries,
          ),
          ...errorResponses('invalid_cursor'),
        },
      },
    },
    async (request, reply) => {
      const { organizationId } = request.caller;
      if (!wantsCsv(request)) return reads.listJournalEntries(db, organizationId, request.query);
      const pages = keysetPages(request.query.cursor, (cursor) =>
        reads.listJournalEntries(db, organizationId, { ...request.query, cursor, limit: pageSizeMax }),
      );
      return sendCsv(reply, 'journal-entries', postingColumns, postingRowsOf(pages));
    },
  );

  app.get(
    '/v1/journal-entries/:id',
    {
      schema: {
        tags: journalTags,
        operationId: 'getJournalEntry',
        description: 'With its postings, and its sequence number and hash once the sealer has chained it.',
        summary: 'Get a journal entry with its postings and seal',
        params: IdParams,
        response: { 200: Type.Ref('JournalEntry'), ...errorResponses('not_found') },
      },
    },
    async (request) => reads.getJournalEntry(db, request.caller.organizationId, request.params.id),
  );

  app.get(
    '/v1/reports/integrity',
    {
      schema: {
        tags: ['Reports'],
        operationId: 'getIntegrityReport',
        description:
          'Seals pending entries first, then checks every hash chain, that every entry balances, that value is conserved and that every stored balance equals its postings. Each check reports what it found.',
        summary:
          'Ledger integrity: hash chain, balanced postings, value conservation, stored balances, sealing',
        querystring: IntegrityQuery,
        response: { 200: Type.Ref('IntegrityReport'), ...errorResponses() },
      },
    },
    async (request) => checkIntegrity(db, clock, request.caller.organizationId, request.query.window),
  );
};

const registerReportRoutes: RoutePlugin = async (app, { db, clock }) => {
  const reportTags = ['Reports'];
  app.get(
    '/v1/reports/ledger-summary',
    {
      schema: {
        tags: reportTags,
        operationId: 'getLedgerSummaryReport',
        description:
          'Totals per asset since the start, or for a period with from and to. Outstanding equals issued minus redeemed, expired and forfeited.',
        summary:
          'Per asset: issued, redeemed, expired, forfeited and outstanding; period figures with from+to',
        querystring: LedgerSummaryQuery,
        response: {
          200: jsonOrCsvResponse(
            Type.Object({ data: Type.Array(Type.Ref('LedgerSummaryRow')) }),
            'Ledger figures per asset',
            csvExamples.ledgerSummary,
          ),
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      const summary = await reports.ledgerSummary(db, request.caller.organizationId, request.query);
      if (!wantsCsv(request)) return summary;
      return sendCsv(reply, 'ledger-summary', ledgerSummaryColumns, onePage(summary.data));
    },
  );

  app.get(
    '/v1/reports/liability',
    {
      schema: {
        tags: reportTags,
        operationId: 'getLiabilityReport',
        summary: 'Outstanding liability per asset and program (and bucket) as of a time',
        description:
          'Rows by asset, then program (entries without one last), then bucket, a page at a time; ' +
          "a next page's cursor keeps the first page's as_of.",
        querystring: LiabilityQuery,
        response: {
          200: jsonOrCsvResponse(
            Type.Ref('LiabilityReport'),
            'Outstanding liability as of a time; as CSV, every row',
            csvExamples.liability,
          ),
          ...errorResponses('invalid_cursor'),
        },
      },
    },
    async (request, reply) => {
      const { organizationId } = request.caller;
      if (!wantsCsv(request)) return reports.liability(db, clock, organizationId, request.query);
      const pages = keysetPages(request.query.cursor, (cursor) =>
        reports.liability(db, clock, organizationId, { ...request.query, cursor, limit: pageSizeMax }),
      );
      return sendCsv(reply, 'liability', liabilityColumns, pages);
    },
  );

  app.get(
    '/v1/reports/liability-rollforward',
    {
      schema: {
        tags: reportTags,
        operationId: 'getLiabilityRollforwardReport',
        description:
          'Opening liability, the movements of the period by kind, and closing liability per asset. Answers 500 integrity_violation rather than a report whose figures do not add up.',
        summary: 'Movements explaining closing minus opening liability exactly; refused if they do not',
        querystring: RollforwardQuery,
        response: {
          200: jsonOrCsvResponse(
            Type.Object({
              from: Type.String(),
              to: Type.String(),
              data: Type.Array(Type.Ref('RollforwardRow')),
            }),
            'Liability movements per asset between from and to',
            csvExamples.rollforward,
          ),
          ...errorResponses('integrity_violation'),
        },
      },
    },
    async (request, reply) => {
      const report = await reports.rollforward(db, request.caller.organizationId, request.query);
      if (!wantsCsv(request)) return report;
      return sendCsv(reply, 'liability-rollforward', rollforwardColumns, onePage(report.data));
    },
  );

  app.get(
    '/v1/reports/expiration-schedule',
    {
      schema: {
        tags: reportTags,
        operationId: 'getExpirationScheduleReport',
        description:
          'Outstanding lot value by the day, week or month it expires, between from and to, with what expires before and after the window and what never expires.',
        summary: 'When outstanding lot value expires, in calendar buckets (LOT assets only)',
        querystring: ExpirationScheduleQuery,
        response: {
          200: jsonOrCsvResponse(
            Type.Object({ data: Type.Array(Type.Ref('ExpirationSchedule')) }),
            'Expiring value per asset; as CSV, one row per bucket',
            csvExamples.expirationSchedule,
          ),
          ...errorResponses('not_found', 'unsupported_inventory_mode'),
        },
      },
    },
    async (request, reply) => {
      const schedule = await reports.expirationSchedule(db, request.caller.organizationId, request.query);
      if (!wantsCsv(request)) return schedule;
      return sendCsv(
        reply,
        'expiration-schedule',
        expirationColumns,
        onePage(expirationRowsOf(schedule.data)),
      );
    },
  );
};

export const ledgerSchemas = [
  LedgerSummaryRow,
  LiabilityReport,
  RollforwardRow,
  ExpirationSchedule,
  AssetBalance,
  AdjustResponse,
  BalanceOperationResponse,
  Lot,
  ActivityItem,
  StatementLine,
  Statement,
  WalletResponse,
  WalletBalance,
  JournalEntry,
  IntegrityReport,
];
