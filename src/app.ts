// buildApp(deps) -> a Fastify instance with every route; no listen(). Tests call it directly.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authenticate } from './modules/organizations/index.js';
import { participantRoutes, participantSchemas, stateRoutes } from './modules/participants/index.js';
import { programRoutes, programSchemas } from './modules/programs/index.js';
import { participantTierRoutes, tierRoutes, tierSchemas, tierStateReader } from './modules/tiers/index.js';
import type { Clock } from './platform/clock.js';
import { type Database, isDatabaseReachable } from './platform/db/database.js';
import { registerAuthentication } from './platform/http/auth.js';
import { registerErrorHandlers } from './platform/http/error-handler.js';
import { registerOpenApi } from './platform/http/openapi.js';
import { validatorCompiler } from './platform/http/validation.js';
import { newRequestId } from './platform/ids.js';
import { requestBodyBytesMax } from './platform/limits.js';
import type { Logger } from './platform/logger.js';

export interface AppDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  version: string;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: requestBodyBytesMax,
    genReqId: newRequestId,
    ajv: { customOptions: { coerceTypes: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // JSON only: any other Content-Type answers 415 unsupported_media_type.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  registerErrorHandlers(app);
  await registerOpenApi(app, deps.version);
  for (const schema of [...programSchemas, ...participantSchemas, ...tierSchemas]) app.addSchema(schema);
  registerProbes(app, deps.db);

  await app.register(async (v1) => {
    registerAuthentication(v1, (secret) => authenticate(deps.db, secret));
    const routeDeps = { db: deps.db, clock: deps.clock };
    await v1.register(programRoutes, routeDeps);
    await v1.register(participantRoutes, { ...routeDeps, stateReaders: [tierStateReader] });
    await v1.register(stateRoutes, routeDeps);
    await v1.register(tierRoutes, routeDeps);
    await v1.register(participantTierRoutes, routeDeps);
  });
  return app;
}

const Probe = Type.Object({ status: Type.String() });

function registerProbes(app: FastifyInstance, db: Database): void {
  const schema = (summary: string) => ({
    tags: ['Health'],
    summary,
    security: [],
    response: { 200: Probe, 503: Probe },
  });
  app.get('/healthz', { schema: schema('The process is up') }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: schema('The database is reachable') }, async (_request, reply) => {
    const ready = await isDatabaseReachable(db);
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'database unreachable' });
  });
}
