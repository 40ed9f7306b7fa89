import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { RouteDeps, RoutePlugin } from '../../platform/http/route-deps.js';
import '../../platform/http/log-summary.js';
import { errorResponses, IdParams, Page } from '../../platform/http/schemas.js';
import { newId } from '../../platform/ids.js';
import { usageDaysDefault } from '../../platform/limits.js';
import { redactUrl } from '../../platform/logger.js';
import { ListLogsQuery, RequestLog, RequestLogDetail, Usage, UsageQuery } from './logs.schemas.js';
import type { RequestLogRecorder } from './logs.service.js';
import * as service from './logs.service.js';

const tags = ['Logs'];

export interface LogRouteDeps extends RouteDeps {
  recorder: RequestLogRecorder;
}

declare module 'fastify' {
  interface FastifyRequest {
    loggedResponse: string | undefined;
  }
}

/** Records every authenticated request of the scope after its response is sent. */
export function registerRequestLogging(scope: FastifyInstance, recorder: RequestLogRecorder): void {
  scope.decorateRequest('loggedResponse', undefined);
  scope.decorateRequest('logSummary', undefined);
  scope.addHook('onSend', async (request, _reply, payload) => {
    if (typeof payload === 'string') request.loggedResponse = payload;
    return payload;
  });
  scope.addHook('onResponse', async (request, reply) => {
    if (request.caller === undefined) return;
    recorder.record(toLogRow(request, reply));
  });
}

function toLogRow(request: FastifyRequest, reply: FastifyReply) {
  const errorCode =
    reply.statusCode >= 400 ? /"code":"([a-z_]+)"/.exec(request.loggedResponse ?? '')?.[1] : undefined;
  return {
    organization_id: request.caller.organizationId,
    id: newId(),
    request_id: request.id,
    method: request.method,
    path: redactUrl(request.url.split('?')[0] ?? request.url),
    route_pattern: (request.routeOptions.url ?? request.url).replace(/:(\w+)/g, '{$1}'),
    status_code: reply.statusCode,
    duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
    auth_type: 'api_key',
    api_key_id: request.caller.apiKeyId,
    error_code: errorCode ?? null,
    ip_address: request.ip,
    user_agent: request.headers['user-agent'] ?? null,
    ...loggedBodies(request),
    created_at: new Date(),
  };
}

/** A route's summary when it gave one (event batches), else both bodies redacted. */
function loggedBodies(request: FastifyRequest) {
  const summary = request.logSummary;
  if (summary !== undefined) {
    return {
      request_body: service.truncateBody(JSON.stringify(summary.request)),
      response_body: service.truncateBody(JSON.stringify(summary.response)),
    };
  }
  return {
    request_body: service.redactBody(request.body === undefined ? undefined : JSON.stringify(request.body)),
    response_body: service.redactBody(request.loggedResponse),
  };
}

export const logRoutes: RoutePlugin<LogRouteDeps> = async (app, { db, clock, recorder }) => {
  app.get(
    '/v1/logs',
    {
      schema: {
        tags,
        operationId: 'listRequestLogs',
        description:
          'Requests are logged within 200 ms of their response. Filter by method, route, request id, status range and time.',
        summary: 'List request logs, newest first',
        querystring: ListLogsQuery,
        response: { 200: Page(Type.Ref('RequestLog')), ...errorResponses('invalid_cursor') },
      },
    },
    async (request) => {
      await recorder.flush();
      return service.listRequestLogs(db, request.caller.organizationId, request.query);
    },
  );

  app.get(
    '/v1/logs/:id',
    {
      schema: {
        tags,
        operationId: 'getRequestLog',
        description: 'The request and response bodies, redacted of secret-looking keys and cut at 4 KiB.',
        summary: 'Get a request log with its (redacted) bodies',
        params: IdParams,
        response: { 200: Type.Ref('RequestLogDetail'), ...errorResponses('not_found') },
      },
    },
    async (request) => {
      await recorder.flush();
      return service.getRequestLog(db, request.caller.organizationId, request.params.id);
    },
  );

  app.get(
    '/v1/usage',
    {
      schema: {
        tags,
        operationId: 'getUsage',
        summary: 'Daily API usage: requests, errors and average latency',
        description: `Defaults to the ${usageDaysDefault} days up to now. Days are UTC.`,
        querystring: UsageQuery,
        response: { 200: Type.Ref('Usage'), ...errorResponses() },
      },
    },
    async (request) => {
      await recorder.flush();
      return service.getUsage(db, request.caller.organizationId, request.query, clock());
    },
  );
};

export const logSchemas = [RequestLog, RequestLogDetail, Usage];
