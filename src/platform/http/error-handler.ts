// Every error leaves as {code, message, details?} with a stable code. Expected errors carry their
// own message; anything unexpected is logged in full and answered with a generic 500.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/transaction.js';
import { badRequest, DomainError, type ErrorCode, errorStatusByCode } from '../errors.js';
import { describeValidationErrors } from './validation.js';

const fastifyCodes: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'request body is larger than 1 MiB'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'Content-Type must be application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_json', 'request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['invalid_json', 'request body is empty; send a JSON object'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['bad_request', 'Content-Length does not match the body'],
};

const retryAfterSeconds = 1;

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => handleError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`);
  });
}

function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof DomainError) {
    sendError(reply, error.code, error.message, error.details);
    return;
  }
  if (error.validation) {
    const fields = describeValidationErrors(error.validation as never, error.validationContext);
    const problem = badRequest(fields);
    sendError(reply, problem.code, problem.message, problem.details);
    return;
  }
  const known = error.code === undefined ? undefined : fastifyCodes[error.code];
  if (known) {
    sendError(reply, known[0], known[1]);
    return;
  }
  if (error instanceof SyntaxError) {
    sendError(reply, 'invalid_json', 'request body is not valid JSON');
    return;
  }
  if (isDatabaseUnavailable(error)) {
    request.log.warn({ err: error }, 'database unavailable');
    reply.header('Retry-After', String(retryAfterSeconds));
    sendError(reply, 'service_unavailable', 'the database is unavailable; retry shortly');
    return;
  }
  request.log.error({ err: error }, 'unexpected error');
  sendError(reply, 'internal_error', 'internal error');
}

function sendError(reply: FastifyReply, code: ErrorCode, message: string, details?: object): void {
  const body: Record<string, unknown> = { code, message };
  if (details !== undefined) body.details = details;
  reply.status(errorStatusByCode[code]).type('application/json').send(body);
}
