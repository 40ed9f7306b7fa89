import { Type } from 'typebox';
import type { RouteDeps, RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses } from '../../platform/http/schemas.js';
import { TransferBody, TransferResponse } from './transfers.schemas.js';
import * as service from './transfers.service.js';

export interface TransferRouteDeps extends RouteDeps {
  /** The groups module's status read (a module on the same layer), passed in by app.ts. */
  readGroupStatus: service.GroupStatusReader;
}

export const transferRoutes: RoutePlugin<TransferRouteDeps> = async (app, { db, clock, readGroupStatus }) => {
  app.post(
    '/v1/transfers',
    {
      schema: {
        tags: ['Transfers'],
        operationId: 'createTransfer',
        summary: 'Move value from one participant or group to 1-100 recipients, atomically',
        description:
          "One TRANSFER journal entry: the source's AVAILABLE pays each recipient's AVAILABLE, all or nothing. " +
          'Source, recipients and program must be ACTIVE; recipients not yet enrolled in the program are ' +
          "enrolled. LOT assets: the source's lots are consumed oldest first and each recipient gets a new " +
          'lot dated now, without expiry. The same idempotency_key with the same body answers the first ' +
          'transfer again.',
        body: TransferBody,
        response: {
          200: Type.Ref('Transfer'),
          ...errorResponses(
            'not_found',
            'invalid_scale',
            'self_transfer',
            'max_transaction_amount_exceeded',
            'idempotency_conflict',
            'participant_inactive',
            'group_archived',
            'program_inactive',
            'asset_archived',
            'insufficient_balance',
            'asset_not_linked',
          ),
        },
      },
    },
    async (request) => service.createTransfer(db, clock, request.caller, request.body, readGroupStatus),
  );
};

export const transferSchemas = [TransferResponse];
