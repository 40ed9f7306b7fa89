import { onePage, sendCsv, wantsCsv } from '../../platform/http/csv.js';
import type { RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses } from '../../platform/http/schemas.js';
import { activityColumns, activityRowsOf } from './program-activity-export.js';
import { ProgramActivity, ProgramActivityQuery, ProgramActivityReport } from './reporting.schemas.js';
import * as service from './reporting.service.js';

export const reportingRoutes: RoutePlugin = async (app, { db }) => {
  app.get(
    '/v1/reports/program-activity',
    {
      schema: {
        tags: ['Reports'],
        summary: 'Per program: events, journal entries, issued and redeemed value, participants since a time',
        description:
          'Amounts are per asset in `assets`; the program totals add them up at the largest scale. ' +
          'total_redeemed counts debits and redemptions net of their reversals.',
        querystring: ProgramActivityQuery,
        response: { 200: ProgramActivityReport, ...errorResponses('not_found') },
      },
    },
    async (request, reply) => {
      const report = await service.programActivity(db, request.caller.organizationId, request.query);
      if (!wantsCsv(request)) return report;
      return sendCsv(reply, 'program-activity', activityColumns, onePage(activityRowsOf(report.data)));
    },
  );
};

export const reportingSchemas = [ProgramActivity];
