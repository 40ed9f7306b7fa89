import { Type } from 'typebox';
import type { RouteDeps, RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, IdParams, ListQueryFields, Page } from '../../platform/http/schemas.js';
import {
  Asset,
  CreateAssetBody,
  LinkAssetBody,
  ListAssetsQuery,
  ProgramAssetParams,
  ProgramIdParams,
  UpdateAssetBody,
} from './assets.schemas.js';
import * as service from './assets.service.js';

const tags = ['Assets'];
const ListQuery = Type.Object(ListQueryFields, { additionalProperties: false });

export interface AssetRouteDeps extends RouteDeps {
  openLedger: service.AssetLedgerOpener;
}

export const assetRoutes: RoutePlugin<AssetRouteDeps> = async (app, deps) => {
  await registerAssetRoutes(app, deps);
  await registerLinkRoutes(app, deps);
};

const registerAssetRoutes: RoutePlugin<AssetRouteDeps> = async (app, { db, clock, openLedger }) => {
  app.post(
    '/v1/assets',
    {
      schema: {
        tags,
        operationId: 'createAsset',
        description:
          'The asset is linked to program_id at once. scale (0-18) is the number of decimals of every amount and is fixed for good; inventory_mode LOT keeps each credit as a lot with its own expiry; issuance_policy PREFUNDED draws credits from a program wallet instead of issuing them. The symbol is unique in the organization, whatever its case.',
        summary: 'Create an asset, linked to program_id',
        body: CreateAssetBody,
        response: { 201: Type.Ref('Asset'), ...errorResponses('not_found', 'conflict', 'invalid_scale') },
      },
    },
    async (request, reply) => {
      const asset = await service.createAsset(
        db,
        clock,
        openLedger,
        request.caller.organizationId,
        request.body,
      );
      return reply.status(201).send(asset);
    },
  );

  app.get(
    '/v1/assets',
    {
      schema: {
        tags,
        operationId: 'listAssets',
        description: 'Every asset of the organization, whichever programs it is linked to.',
        summary: "List the organization's assets, newest first",
        querystring: ListAssetsQuery,
        response: { 200: Page(Type.Ref('Asset')), ...errorResponses('invalid_cursor') },
      },
    },
    async (request) => service.listAssets(db, request.caller.organizationId, request.query),
  );

  app.get(
    '/v1/assets/:id',
    {
      schema: {
        tags,
        operationId: 'getAsset',
        description: 'With the programs it is linked to.',
        summary: 'Get an asset',
        params: IdParams,
        response: { 200: Type.Ref('Asset'), ...errorResponses('not_found') },
      },
    },
    async (request) => service.getAsset(db, request.caller.organizationId, request.params.id),
  );

  app.patch(
    '/v1/assets/:id',
    {
      schema: {
        tags,
        operationId: 'updateAsset',
        description:
          'Archiving is permanent: an archived asset takes no new movements (409 asset_archived). max_transaction_amount caps a single movement; null removes the cap.',
        summary: 'Update an asset: name, archive (permanent), max_transaction_amount (null clears)',
        params: IdParams,
        body: UpdateAssetBody,
        response: { 200: Type.Ref('Asset'), ...errorResponses('not_found', 'invalid_scale') },
      },
    },
    async (request) =>
      service.updateAsset(db, clock, request.caller.organizationId, request.params.id, request.body),
  );
};

const registerLinkRoutes: RoutePlugin<AssetRouteDeps> = async (app, { db, clock, openLedger }) => {
  app.post(
    '/v1/programs/:programId/assets',
    {
      schema: {
        tags,
        operationId: 'linkProgramAsset',
        description:
          "A program's rules, rewards and balance operations can use only the assets linked to it (422 asset_not_linked otherwise).",
        summary: 'Link an existing asset to a program',
        params: ProgramIdParams,
        body: LinkAssetBody,
        response: { 200: Type.Ref('Asset'), ...errorResponses('not_found', 'conflict') },
      },
    },
    async (request) =>
      service.linkAsset(db, clock, openLedger, {
        organizationId: request.caller.organizationId,
        programId: request.params.programId,
        assetId: request.body.asset_id,
      }),
  );

  app.get(
    '/v1/programs/:programId/assets',
    {
      schema: {
        tags,
        operationId: 'listProgramAssets',
        description: "The assets a program's rules, rewards and balance operations can use.",
        summary: 'List the assets linked to a program',
        params: ProgramIdParams,
        querystring: ListQuery,
        response: { 200: Page(Type.Ref('Asset')), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) =>
      service.listProgramAssets(db, request.caller.organizationId, request.params.programId, request.query),
  );

  app.delete(
    '/v1/programs/:programId/assets/:assetId',
    {
      schema: {
        tags,
        operationId: 'unlinkProgramAsset',
        description:
          'Answers 409 conflict once the program has journal entries in the asset: the history must stay readable.',
        summary: 'Unlink an asset from a program (refused once ledger entries exist)',
        params: ProgramAssetParams,
        response: { 204: Type.Null({ description: 'Unlinked' }), ...errorResponses('not_found', 'conflict') },
      },
    },
    async (request, reply) => {
      await service.unlinkAsset(
        db,
        request.caller.organizationId,
        request.params.programId,
        request.params.assetId,
      );
      return reply.status(204).send(null);
    },
  );
};

export const assetSchemas = [Asset];
