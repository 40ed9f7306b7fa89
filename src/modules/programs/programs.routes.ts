import { Type } from 'typebox';
import type { RouteDeps, RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, IdParams, Page } from '../../platform/http/schemas.js';
import { CreateProgramBody, ListProgramsQuery, Program, UpdateProgramBody } from './programs.schemas.js';
import * as service from './programs.service.js';

const tags = ['Programs'];

export interface ProgramRouteDeps extends RouteDeps {
  findLedgerEntity: service.LedgerEntityFinder;
}

export const programRoutes: RoutePlugin<ProgramRouteDeps> = async (app, { db, clock, findLedgerEntity }) => {
  app.post(
    '/v1/programs',
    {
      schema: {
        tags,
        operationId: 'createProgram',
        summary: 'Create a program',
        description:
          'A program needs only a name. on_unknown_participant defaults to CREATE: a participant is ' +
          'created on its first event; REJECT refuses events for participants not registered first. ' +
          'Programs start ACTIVE and can be suspended or archived later with PATCH.',
        body: CreateProgramBody,
        response: { 201: Type.Ref('Program'), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const program = await service.createProgram(
        db,
        clock,
        findLedgerEntity,
        request.caller.organizationId,
        request.body,
      );
      return reply.status(201).send(program);
    },
  );

  app.get(
    '/v1/programs',
    {
      schema: {
        tags,
        operationId: 'listPrograms',
        summary: 'List programs',
        description:
          'Archived programs are left out unless `status` or `include_archived=true` asks for them.',
        querystring: ListProgramsQuery,
        response: { 200: Page(Type.Ref('Program')), ...errorResponses('invalid_cursor') },
      },
    },
    async (request) => service.listPrograms(db, request.caller.organizationId, request.query),
  );

  app.get(
    '/v1/programs/:id',
    {
      schema: {
        tags,
        operationId: 'getProgram',
        description: "Archived programs too; another organization's program answers 404.",
        summary: 'Get a program',
        params: IdParams,
        response: { 200: Type.Ref('Program'), ...errorResponses('not_found') },
      },
    },
    async (request) => service.getProgram(db, request.caller.organizationId, request.params.id),
  );

  app.patch(
    '/v1/programs/:id',
    {
      schema: {
        tags,
        operationId: 'updateProgram',
        summary: 'Update a program',
        description:
          'SUSPENDED rejects new events; ARCHIVED also hides the program from lists and sets deleted_at. ' +
          'Both can return to ACTIVE.',
        params: IdParams,
        body: UpdateProgramBody,
        response: { 200: Type.Ref('Program'), ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.updateProgram(
        db,
        clock,
        findLedgerEntity,
        request.caller.organizationId,
        request.params.id,
        request.body,
      ),
  );
};

export const programSchemas = [Program];
