import { Type } from 'typebox';
import type { RouteDeps, RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, IdParams, Page } from '../../platform/http/schemas.js';
import {
  CreateParticipantBody,
  ListParticipantsQuery,
  Participant,
  ParticipantSummary,
  UpdateParticipantBody,
  UpdateParticipantStatusBody,
} from './participants.schemas.js';
import * as service from './participants.service.js';

const tags = ['Participants'];

export interface ParticipantRouteDeps extends RouteDeps {
  /** Readers of the state other modules own (balances, tiers), for the detail view. */
  stateReaders: service.ParticipantStateReader[];
}

export const participantRoutes: RoutePlugin<ParticipantRouteDeps> = async (app, deps) => {
  const { db, clock, stateReaders: readers } = deps;

  app.post(
    '/v1/participants',
    {
      schema: {
        tags,
        operationId: 'createParticipant',
        summary: 'Create a participant, or update it if external_id exists (upsert)',
        description:
          'Answers 201 when the participant is new and 200 when it existed. Tags are lower-cased; ' +
          'attributes merge into the stored ones; tags replace. Counters and tiers cannot be set here.',
        body: CreateParticipantBody,
        response: {
          200: Type.Ref('Participant'),
          201: Type.Ref('Participant'),
          ...errorResponses('not_found'),
        },
      },
    },
    async (request, reply) => {
      const result = await service.upsertParticipant(db, clock, request.caller, request.body, readers);
      return reply.status(result.created ? 201 : 200).send(result.participant);
    },
  );

  app.get(
    '/v1/participants',
    {
      schema: {
        tags,
        operationId: 'listParticipants',
        description:
          'external_id finds the participant with that id of yours. Filter by status, program, a partial search or creation time.',
        summary: 'List participants, or look one up by external_id',
        querystring: ListParticipantsQuery,
        response: { 200: Page(Type.Ref('ParticipantSummary')), ...errorResponses('invalid_cursor') },
      },
    },
    async (request) => service.listParticipants(db, request.caller.organizationId, request.query),
  );

  app.get(
    '/v1/participants/:id',
    {
      schema: {
        tags,
        operationId: 'getParticipant',
        description:
          'Balances per asset and bucket, counters with their effective values, the level of each tier, and the programs the participant is enrolled in.',
        summary: 'Get a participant with balances, counters, tiers and programs',
        params: IdParams,
        response: { 200: Type.Ref('Participant'), ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.getParticipant(db, clock, request.caller.organizationId, request.params.id, readers),
  );

  app.patch(
    '/v1/participants/:id',
    {
      schema: {
        tags,
        operationId: 'updateParticipant',
        summary: 'Update a participant profile',
        description:
          'attributes merge; tags replace; an empty string clears a profile field. status is ignored here: ' +
          'use PATCH /v1/participants/{id}/status.',
        params: IdParams,
        body: UpdateParticipantBody,
        response: { 200: Type.Ref('Participant'), ...errorResponses('not_found', 'conflict') },
      },
    },
    async (request) =>
      service.updateParticipant(db, clock, request.caller, request.params.id, request.body, readers),
  );

  app.patch(
    '/v1/participants/:id/status',
    {
      schema: {
        tags,
        operationId: 'updateParticipantStatus',
        summary: 'Change a participant status',
        description:
          'SUSPENDED and CLOSED block the financial actions (CREDIT, DEBIT, HOLD, RELEASE, FORFEIT, COUNTER); ' +
          'both can return to ACTIVE.',
        params: IdParams,
        body: UpdateParticipantStatusBody,
        response: { 200: Type.Ref('Participant'), ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.updateParticipantStatus(
        db,
        clock,
        request.caller.organizationId,
        request.params.id,
        request.body.status,
        readers,
      ),
  );
};

export const participantSchemas = [ParticipantSummary, Participant];
