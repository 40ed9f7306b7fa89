import type { RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses } from '../../platform/http/schemas.js';
import { ProgramActivity, ProgramActivityQuery, ProgramActivityReport } from './reporting.schemas.js';
import * as service from './reporting.service.js';

export const reportingRoutes: RoutePlugin = async (app, { db }) => {
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
        response: { 200: ProgramActivityReport, ...errorResponses('not_found') },
      },
    },
    async (request) => service.programActivity(db, request.caller.organizationId, request.query),
  );
};

export const reportingSchemas = [ProgramActivity];
