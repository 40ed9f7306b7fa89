import { Type } from 'typebox';
import type { RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, Page } from '../../platform/http/schemas.js';
import {
  CreateRewardBody,
  ListRewardsQuery,
  ProgramParams,
  ProgramRewardParams,
  Reward,
  UpdateRewardBody,
} from './rewards.schemas.js';
import * as service from './rewards.service.js';

const tags = ['Rewards'];
const writeErrors = errorResponses(
  'not_found',
  'conflict',
  'invalid_scale',
  'asset_not_linked',
  'asset_archived',
);

export const rewardRoutes: RoutePlugin = async (app, { db, clock }) => {
  app.post(
    '/v1/programs/:programId/rewards',
    {
      schema: {
        tags,
        operationId: 'createReward',
        summary: 'Create a reward in the program catalog',
        description:
          'The asset must be linked to the program. max_total and max_per_participant apply to ' +
          'UNIT_BASED rewards only. A name already used in the program answers 409 conflict.',
        params: ProgramParams,
        body: CreateRewardBody,
        response: { 201: Type.Ref('Reward'), ...writeErrors },
      },
    },
    async (request, reply) => {
      const { organizationId } = request.caller;
      const reward = await service.createReward(
        db,
        clock,
        organizationId,
        request.params.programId,
        request.body,
      );
      return reply.status(201).send(reward);
    },
  );

  app.get(
    '/v1/programs/:programId/rewards',
    {
      schema: {
        tags,
        operationId: 'listRewards',
        summary: "List the program's rewards",
        description:
          'Archived rewards are left out unless `status` or `include_archived=true` asks for them.',
        params: ProgramParams,
        querystring: ListRewardsQuery,
        response: { 200: Page(Type.Ref('Reward')), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) =>
      service.listRewards(db, request.caller.organizationId, request.params.programId, request.query),
  );

  app.get(
    '/v1/programs/:programId/rewards/:rewardId',
    {
      schema: {
        tags,
        operationId: 'getReward',
        description: 'With its stock: redeemed_count counts the units redeemed, net of reversals.',
        summary: 'Get a reward',
        params: ProgramRewardParams,
        response: { 200: Type.Ref('Reward'), ...errorResponses('not_found') },
      },
    },
    async (request) =>
      service.getReward(db, request.caller.organizationId, request.params.programId, request.params.rewardId),
  );

  app.patch(
    '/v1/programs/:programId/rewards/:rewardId',
    {
      schema: {
        tags,
        operationId: 'updateReward',
        summary: 'Update a reward',
        description:
          'redemption_type and asset_id are immutable. Archive with status ARCHIVED. OUT_OF_STOCK follows ' +
          'the stock: it is set when redeemed_count reaches max_total and cleared when it no longer does.',
        params: ProgramRewardParams,
        body: UpdateRewardBody,
        response: { 200: Type.Ref('Reward'), ...writeErrors },
      },
    },
    async (request) =>
      service.updateReward(
        db,
        clock,
        request.caller.organizationId,
        { programId: request.params.programId, rewardId: request.params.rewardId },
        request.body,
      ),
  );
};

export const rewardSchemas = [Reward];
