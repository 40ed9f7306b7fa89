import { Type } from 'typebox';
import type { RoutePlugin } from '../../platform/http/route-deps.js';
import { errorResponses, IdParams, Page } from '../../platform/http/schemas.js';
import { registerBalanceCommands } from '../ledger/index.js';
import {
  AddMembersBody,
  AddMembersResponse,
  CreateGroupBody,
  Group,
  GroupWithBalances,
  ListGroupsQuery,
  Member,
  MemberParams,
  MembersQuery,
  UpdateGroupBody,
} from './groups.schemas.js';
import * as service from './groups.service.js';

const tags = ['Groups'];

export const groupRoutes: RoutePlugin = async (app, deps) => {
  await registerGroupRoutes(app, deps);
  await registerMemberRoutes(app, deps);
  registerBalanceCommands(app, deps, {
    base: '/v1/groups/:id',
    noun: 'group',
    tags: ['Group balances'],
    holderOf: service.groupHolder,
    operations: ['HOLD', 'RELEASE', 'FORFEIT'],
    refusals: ['group_archived'],
  });
};

const registerGroupRoutes: RoutePlugin = async (app, { db, clock }) => {
  app.post(
    '/v1/groups',
    {
      schema: {
        tags,
        operationId: 'createGroup',
        summary: 'Create a group (a shared wallet) with its first members',
        description:
          'At least one member must be ADMIN. Groups belong to the organization, not to a program.',
        body: CreateGroupBody,
        response: { 201: Type.Ref('Group'), ...errorResponses('not_found') },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await service.createGroup(db, clock, request.caller, request.body)),
  );
  app.get(
    '/v1/groups',
    {
      schema: {
        tags,
        operationId: 'listGroups',
        summary: 'List groups, newest first',
        description: 'Archived groups are left out unless include_archived=true.',
        querystring: ListGroupsQuery,
        response: { 200: Page(Type.Ref('Group')), ...errorResponses('invalid_cursor') },
      },
    },
    async (request) => service.listGroups(db, request.caller.organizationId, request.query),
  );
  app.get(
    '/v1/groups/:id',
    {
      schema: {
        tags,
        operationId: 'getGroup',
        description: "The balance per asset sums every bucket of the group's accounts.",
        summary: 'Get a group with its balance per asset (archived groups too)',
        params: IdParams,
        response: { 200: Type.Ref('GroupWithBalances'), ...errorResponses('not_found') },
      },
    },
    async (request) => service.getGroup(db, request.caller.organizationId, request.params.id),
  );
  app.patch(
    '/v1/groups/:id',
    {
      schema: {
        tags,
        operationId: 'renameGroup',
        description: 'Only the name changes; an archived group answers 409 group_archived.',
        summary: 'Rename a group',
        params: IdParams,
        body: UpdateGroupBody,
        response: { 200: Type.Ref('Group'), ...errorResponses('not_found', 'group_archived') },
      },
    },
    async (request) =>
      service.renameGroup(db, clock, request.caller.organizationId, request.params.id, request.body),
  );
  app.delete(
    '/v1/groups/:id',
    {
      schema: {
        tags,
        operationId: 'archiveGroup',
        summary: 'Archive a group for good',
        description:
          'Status ARCHIVED and deleted_at set. Balances, members and state are kept and stay readable; ' +
          'no change, balance operation or transfer is accepted afterwards. There is no unarchive.',
        params: IdParams,
        response: { 200: Type.Ref('Group'), ...errorResponses('not_found', 'group_archived') },
      },
    },
    async (request) => service.archiveGroup(db, clock, request.caller.organizationId, request.params.id),
  );
};

const registerMemberRoutes: RoutePlugin = async (app, { db, clock }) => {
  app.post(
    '/v1/groups/:id/members',
    {
      schema: {
        tags,
        operationId: 'addGroupMembers',
        summary: 'Add one member, or several',
        description:
          'Refused whole (409 conflict) when a participant is already an ACTIVE member; a member who LEFT ' +
          'comes back with the role given.',
        params: IdParams,
        body: AddMembersBody,
        response: { 200: AddMembersResponse, ...errorResponses('not_found', 'conflict', 'group_archived') },
      },
    },
    async (request) => service.addMembers(db, clock, request.caller, request.params.id, request.body),
  );
  app.get(
    '/v1/groups/:id/members',
    {
      schema: {
        tags,
        operationId: 'listGroupMembers',
        description: 'Members who left stay listed with status LEFT.',
        summary: "List a group's members, oldest first",
        params: IdParams,
        querystring: MembersQuery,
        response: { 200: Page(Type.Ref('GroupMember')), ...errorResponses('not_found', 'invalid_cursor') },
      },
    },
    async (request) =>
      service.listMembers(db, request.caller.organizationId, request.params.id, request.query),
  );
  app.delete(
    '/v1/groups/:id/members/:participant_id',
    {
      schema: {
        tags,
        operationId: 'removeGroupMember',
        summary: 'Remove a member (status LEFT); the group balance is untouched',
        description: 'The last ACTIVE ADMIN cannot be removed (409 conflict).',
        params: MemberParams,
        response: {
          200: Type.Ref('GroupMember'),
          ...errorResponses('not_found', 'conflict', 'group_archived'),
        },
      },
    },
    async (request) =>
      service.removeMember(
        db,
        clock,
        request.caller.organizationId,
        request.params.id,
        request.params.participant_id,
      ),
  );
};

export const groupSchemas = [Group, GroupWithBalances, Member];
