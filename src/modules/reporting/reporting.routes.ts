import { Type } from 'typebox';
import { jsonOrCsvResponse, onePage, sendCsv, wantsCsv } from '../../platform/http/csv.js';
import type { RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses } from '../../platform/http/schemas.js';
import { activityColumns, activityCsvExample, activityRowsOf } from './program-activity-export.js';
import {
  ProgramActivity,
  ProgramActivityQuery,
  ProgramActivityReport,
  ProgramOverview,
  ProgramOverviewQuery,
} from './reporting.schemas.js';
import * as service from './reporting.service.js';

export const reportingRoutes: RoutePlugin = async (app, { db, clock }) => {
  app.get(
    '/v1/reports/program-activity',
    {
      schema: {
        tags: ['Reports'],
        operationId: 'getProgramActivityReport',
        summary: 'Per program: events, journal entries, issued and redeemed value, participants since a time',
        description:
          'Amounts are per asset in `assets`; the program totals add them up at the largest scale. ' +
          'total_redeemed counts debits and redemptions net of their reversals.',
        querystring: ProgramActivityQuery,
        response: {
          200: jsonOrCsvResponse(
            ProgramActivityReport,
            'Activity per program; as CSV, one row per program and asset',
            activityCsvExample,
          ),
          ...errorResponses('not_found'),
        },
      },
    },
    async (request, reply) => {
      const report = await service.programActivity(db, request.caller.organizationId, request.query);
      if (!wantsCsv(request)) return report;
      return sendCsv(reply, 'program-activity', activityColumns, onePage(activityRowsOf(report.data)));
    },
  );

  app.get(
    '/v1/reports/program-overview',
    {
      schema: {
        tags: ['Reports'],
        operationId: 'getProgramOverview',
        summary: "A program's health now: participants, ingestion rate, backlog and failed events",
        description:
          'Read-only and cheap enough to poll: every figure is a count over an index. events_per_minute ' +
          'averages the last 5 minutes of accepted events; backlog counts events not processed yet; ' +
          'failed counts FAILED events (POST /v1/events/{id}/retry requeues one). Outstanding value per ' +
          'asset is GET /v1/reports/liability.',
        querystring: ProgramOverviewQuery,
        response: { 200: Type.Ref('ProgramOverview'), ...errorResponses('not_found') },
      },
    },
    async (request) => service.programOverview(db, clock, request.caller.organizationId, request.query),
  );
};

export const reportingSchemas = [ProgramActivity, ProgramOverview];
