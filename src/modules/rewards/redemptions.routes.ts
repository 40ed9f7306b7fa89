import { Type } from 'typebox';
import type { RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, IdParams, Page } from '../../platform/http/schemas.js';
import {
  CatalogRedemptionBody,
  ListRedemptionsQuery,
  RawRedemptionBody,
  Redemption,
  RedemptionReversal,
  ReversalsQuery,
  ReverseBody,
} from './redemptions.schemas.js';
import * as service from './redemptions.service.js';

const tags = ['Redemptions'];
const redeemErrorCodes = [
  'not_found',
  'invalid_scale',
  'insufficient_balance',
  'idempotency_conflict',
  'participant_inactive',
  'program_inactive',
  'conflict',
  'asset_archived',
  'asset_not_linked',
  'max_transaction_amount_exceeded',
] as const;
const redeemErrors = errorResponses(...redeemErrorCodes);
const itemErrors = errorResponses(...redeemErrorCodes, 'reward_unavailable', 'reward_limit_exceeded');
const created = { 201: Type.Ref('Redemption'), 200: Type.Ref('Redemption') };

export const redemptionRoutes: RoutePlugin = async (app, { db, clock }) => {
  app.post(
    '/v1/participants/:id/redemptions',
    {
      schema: {
        tags,
        operationId: 'redeemAmount',
        summary: 'Redeem an amount',
        description:
          "Debits the participant's AVAILABLE balance (LOT assets: lots FIFO by expiry) and credits the " +
          "program's redemption target. 201 when made; 200 with the same redemption when idempotency_key " +
          'replays it; 422 insufficient_balance beyond AVAILABLE (held funds cannot be redeemed).',
        params: IdParams,
        body: RawRedemptionBody,
        response: { ...created, ...redeemErrors },
      },
    },
    async (request, reply) => {
      const written = await service.redeemAmount(db, clock, request.caller, request.params.id, request.body);
      return reply.status(written.replayed ? 200 : 201).send(written.response);
    },
  );

  app.post(
    '/v1/participants/:id/redemptions/items',
    {
      schema: {
        tags,
        operationId: 'redeemReward',
        summary: 'Redeem a catalog reward',
        description:
          'UNIT_BASED: quantity (default 1) times unit_cost, within max_total and max_per_participant. ' +
          'AMOUNT_BASED: amount, at least unit_cost. The reward must be ACTIVE and inside its window.',
        params: IdParams,
        body: CatalogRedemptionBody,
        response: { ...created, ...itemErrors },
      },
    },
    async (request, reply) => {
      const written = await service.redeemItem(db, clock, request.caller, request.params.id, request.body);
      return reply.status(written.replayed ? 200 : 201).send(written.response);
    },
  );

  app.get(
    '/v1/participants/:id/redemptions',
    {
      schema: {
        tags,
        operationId: 'listParticipantRedemptions',
        description: 'Filter by status, reward or time.',
        summary: "A participant's redemptions, newest first",
        params: IdParams,
        querystring: ListRedemptionsQuery,
        response: { 200: Page(Type.Ref('Redemption')), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) =>
      service.listRedemptions(db, request.caller.organizationId, request.params.id, request.query),
  );

  app.get(
    '/v1/redemptions/:id',
    {
      schema: {
        tags,
        operationId: 'getRedemption',
        description: 'With what has been reversed of it so far.',
        summary: 'Get a redemption',
        params: IdParams,
        response: { 200: Type.Ref('Redemption'), ...errorResponses('not_found') },
      },
    },
    async (request) => service.readRedemption(db, request.caller.organizationId, request.params.id),
  );

  app.post(
    '/v1/redemptions/:id/reverse',
    {
      schema: {
        tags,
        operationId: 'reverseRedemption',
        summary: 'Reverse a redemption, fully or in part',
        description:
          'amount (raw and AMOUNT_BASED) or quantity (UNIT_BASED); omitted, the whole remainder. The ' +
          'reversed total never exceeds the original. LOT assets get the consumed lots back, last ' +
          'consumed first, with their original expiry. 201 when made; 200 on an idempotent replay.',
        params: IdParams,
        body: ReverseBody,
        response: {
          201: Type.Ref('RedemptionReversal'),
          200: Type.Ref('RedemptionReversal'),
          ...errorResponses(
            'not_found',
            'invalid_scale',
            'conflict',
            'idempotency_conflict',
            'insufficient_balance',
          ),
        },
      },
    },
    async (request, reply) => {
      const written = await service.reverseRedemption(
        db,
        clock,
        request.caller,
        request.params.id,
        request.body,
      );
      return reply.status(written.replayed ? 200 : 201).send(written.response);
    },
  );

  app.get(
    '/v1/redemptions/:id/reversals',
    {
      schema: {
        tags,
        operationId: 'listRedemptionReversals',
        description: 'Each partial or full reversal, with the amount and quantity it gave back.',
        summary: "A redemption's reversals, oldest first",
        params: IdParams,
        querystring: ReversalsQuery,
        response: {
          200: Page(Type.Ref('RedemptionReversal')),
          ...errorResponses('not_found', 'invalid_cursor'),
        },
      },
    },
    async (request) =>
      service.listReversals(db, request.caller.organizationId, request.params.id, request.query),
  );
};

export const redemptionSchemas = [Redemption, RedemptionReversal];
