import { Type } from 'typebox';
import type { RouteDeps, RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, ListQueryFields, Page } from '../../platform/http/schemas.js';
import { readParticipantTiers } from './tier-state.service.js';
import * as stateApi from './tier-state-api.service.js';
import {
  CreateTierBody,
  ParticipantTierParams,
  ProgramParams,
  ProgramQuery,
  SetTierBody,
  Tier,
  TierParams,
  TierState,
  UpdateTierBody,
} from './tiers.schemas.js';
import * as service from './tiers.service.js';

const tags = ['Tiers'];
const ListQuery = Type.Object(ListQueryFields, { additionalProperties: false });

type App = Parameters<RoutePlugin>[0];

export const tierRoutes: RoutePlugin = async (app, deps) => {
  registerTierReads(app, deps);
  registerTierWrites(app, deps);
};

function registerTierReads(app: App, { db }: RouteDeps): void {
  app.get(
    '/v1/programs/:programId/tiers',
    {
      schema: {
        tags,
        operationId: 'listTiers',
        description: 'Archived tiers too, with their levels in rank order.',
        summary: 'List the tiers of a program',
        params: ProgramParams,
        querystring: ListQuery,
        response: { 200: Page(Type.Ref('Tier')), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) =>
      service.listTiers(db, request.caller.organizationId, request.params.programId, request.query),
  );

  app.get(
    '/v1/programs/:programId/tiers/:key',
    {
      schema: {
        tags,
        operationId: 'getTier',
        description: 'With its levels in rank order and its lifecycle.',
        summary: 'Get a tier by key',
        params: TierParams,
        response: { 200: Type.Ref('Tier'), ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.getTier(db, request.caller.organizationId, request.params.programId, request.params.key),
  );
}

function registerTierWrites(app: App, { db, clock }: RouteDeps): void {
  app.post(
    '/v1/programs/:programId/tiers',
    {
      schema: {
        tags,
        operationId: 'createTier',
        description:
          'Levels are ranked from 0; each level above the base qualifies by criteria on counters (mode ALL or ANY). lifecycle decides what happens at the end of a qualification period or after inactivity; without it, levels change only by rules and the API.',
        summary: 'Create a tier',
        params: ProgramParams,
        body: CreateTierBody,
        response: { 201: Type.Ref('Tier'), ...errorResponses('not_found', 'conflict') },
      },
    },
    async (request, reply) => {
      const { organizationId } = request.caller;
      const tier = await service.createTier(
        db,
        clock,
        organizationId,
        request.params.programId,
        request.body,
      );
      return reply.status(201).send(tier);
    },
  );

  app.patch(
    '/v1/programs/:programId/tiers/:key',
    {
      schema: {
        tags,
        operationId: 'updateTier',
        summary: 'Update a tier',
        description:
          'Levels are matched by key; an unknown key creates a level (rank required). An omitted or null ' +
          'field is left unchanged; `{}` clears lifecycle or a level qualification. Not retroactive.',
        params: TierParams,
        body: UpdateTierBody,
        response: { 200: Type.Ref('Tier'), ...errorResponses('not_found', 'conflict', 'tier_archived') },
      },
    },
    async (request) => {
      const { programId, key } = request.params;
      return service.updateTier(db, clock, request.caller.organizationId, programId, key, request.body);
    },
  );

  app.post(
    '/v1/programs/:programId/tiers/:key/archive',
    {
      schema: {
        tags,
        operationId: 'archiveTier',
        description:
          'An archived tier is frozen: no qualification, SET_TIER actions are skipped, level changes answer 409 tier_archived. Existing levels stay readable.',
        summary: 'Archive a tier (one-way)',
        params: TierParams,
        response: { 200: Type.Ref('Tier'), ...errorResponses('not_found', 'tier_archived') },
      },
    },
    async (request) => {
      const { programId, key } = request.params;
      return service.archiveTier(db, clock, request.caller.organizationId, programId, key);
    },
  );
}

const stateTags = ['Participant state'];

function tierTarget(request: { params: { id: string; key: string }; query: { program_id: string } }) {
  return { participantId: request.params.id, programId: request.query.program_id, key: request.params.key };
}

export const participantTierRoutes: RoutePlugin = async (app, deps) => {
  registerParticipantTierReads(app, deps);
  registerParticipantTierWrites(app, deps);
};

function registerParticipantTierReads(app: App, { db }: RouteDeps): void {
  app.get(
    '/v1/participants/:id/state/tiers',
    {
      schema: {
        tags: stateTags,
        operationId: 'listParticipantTierLevels',
        description: "The participant's level in each tier of the program given by program_id.",
        summary: "List a participant's tier levels in a program",
        params: Type.Object({ id: ParticipantTierParams.properties.id }, { additionalProperties: false }),
        querystring: ProgramQuery,
        response: { 200: Page(Type.Ref('TierState')), ...errorResponses('not_found') },
      },
    },
    async (request) =>
      stateApi.listParticipantTiers(
        db,
        request.caller.organizationId,
        request.params.id,
        request.query.program_id,
      ),
  );

  app.get(
    '/v1/participants/:id/state/tiers/:key',
    {
      schema: {
        tags: stateTags,
        operationId: 'getParticipantTierLevel',
        summary: "Get a participant's level in a tier",
        description: '404 when the participant has no level in the tier.',
        params: ParticipantTierParams,
        querystring: ProgramQuery,
        response: { 200: Type.Ref('TierState'), ...errorResponses('not_found') },
      },
    },
    async (request) => stateApi.getParticipantTier(db, request.caller.organizationId, tierTarget(request)),
  );
}

function registerParticipantTierWrites(app: App, { db, clock }: RouteDeps): void {
  const caller = (request: { caller: { organizationId: string; apiKeyId: string } }) => ({
    db,
    clock,
    ...request.caller,
  });
  app.put(
    '/v1/participants/:id/state/tiers/:key',
    {
      schema: {
        tags: stateTags,
        operationId: 'setParticipantTierLevel',
        summary: "Set a participant's level",
        description: 'expires_at schedules removal and replaces any pending expiry.',
        params: ParticipantTierParams,
        querystring: ProgramQuery,
        body: SetTierBody,
        response: {
          200: Type.Ref('TierState'),
          ...errorResponses('not_found', 'conflict', 'participant_inactive', 'tier_archived'),
        },
      },
    },
    async (request) => stateApi.putParticipantTier(caller(request), tierTarget(request), request.body),
  );

  app.delete(
    '/v1/participants/:id/state/tiers/:key',
    {
      schema: {
        tags: stateTags,
        operationId: 'resetParticipantTierLevel',
        description:
          'Back to the rank-0 level, or to no level when the tier has none. Recorded in the state history.',
        summary: 'Reset a participant to the base level',
        params: ParticipantTierParams,
        querystring: ProgramQuery,
        response: {
          204: Type.Null({ description: 'Done' }),
          ...errorResponses('not_found', 'conflict', 'participant_inactive', 'tier_archived'),
        },
      },
    },
    async (request, reply) => {
      await stateApi.deleteParticipantTier(caller(request), tierTarget(request));
      return reply.status(204).send(null);
    },
  );
}

export const tierSchemas = [Tier, TierState];
export { readParticipantTiers as tierStateReader };
