// buildApp(deps) -> a Fastify instance with every route; no listen(). Tests call it directly.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { registerConsole } from './console/serve-console.js';
import { assetRoutes, assetSchemas } from './modules/assets/index.js';
import { automationRoutes, automationSchemas } from './modules/automations/index.js';
import { eventRoutes, eventSchemas, readQueueGauges } from './modules/events/index.js';
import { groupRoutes, groupSchemas, lockGroupStatus } from './modules/groups/index.js';
import {
  countJournalEntries,
  createSystemAccounts,
  ledgerRoutes,
  ledgerSchemas,
  readParticipantBalances,
} from './modules/ledger/index.js';
import { logRoutes, logSchemas, RequestLogRecorder, registerRequestLogging } from './modules/logs/index.js';
import { authenticate } from './modules/organizations/index.js';
import { participantRoutes, participantSchemas, stateRoutes } from './modules/participants/index.js';
import { programRoutes, programSchemas } from './modules/programs/index.js';
import { reportingRoutes, reportingSchemas } from './modules/reporting/index.js';
import {
  findLedgerEntity,
  redemptionRoutes,
  redemptionSchemas,
  rewardRoutes,
  rewardSchemas,
} from './modules/rewards/index.js';
import { listRuleEvaluations, ruleRoutes, ruleSchemas } from './modules/rules/index.js';
import { participantTierRoutes, tierRoutes, tierSchemas, tierStateReader } from './modules/tiers/index.js';
import { transferRoutes, transferSchemas } from './modules/transfers/index.js';
import { type WebhookSettings, webhookRoutes, webhookSchemas } from './modules/webhooks/index.js';
import type { Clock } from './platform/clock.js';
import { type Database, isDatabaseReachable } from './platform/db/database.js';
import { registerAuthentication } from './platform/http/auth.js';
import {
  handleClientError,
  handleFrameworkError,
  registerErrorHandlers,
} from './platform/http/error-handler.js';
import { registerOpenApi } from './platform/http/openapi.js';
import { type RateLimit, registerRateLimit } from './platform/http/rate-limit.js';
import { refuseWrites } from './platform/http/read-only.js';
import { serializerOptions, validatorCompiler } from './platform/http/validation.js';
import { newRequestId } from './platform/ids.js';
import { metricsQueueDepthCountMax, requestBodyBytesMax } from './platform/limits.js';
import type { Logger } from './platform/logger.js';
import {
  eventQueueDepth,
  eventQueueOldestAge,
  httpRequestDuration,
  ledgerEntries,
  type MetricsText,
  renderMetrics,
} from './platform/metrics.js';

export interface AppDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  version: string;
  rateLimit: RateLimit;
  webhooks: WebhookSettings;
  /** Serve GET /metrics (ACCRUE_METRICS); on unless false. */
  metrics?: boolean;
  /** Refuse every write and record no request logs (ACCRUE_READ_ONLY, on a report replica). */
  readOnly?: boolean;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: requestBodyBytesMax,
    genReqId: newRequestId,
    ajv: { customOptions: { coerceTypes: false } },
    // Parsed as plain JSON; the validator refuses keys named __proto__ or constructor with a 400
    // that names the key (platform/http/validation.ts) instead of an unexplained invalid_json.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    serializerOpts: serializerOptions,
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // JSON only: any other Content-Type answers 415 unsupported_media_type.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  registerErrorHandlers(app);
  if (deps.readOnly === true) refuseWrites(app);
  await registerOpenApi(app, deps.version);
  const schemas = [
    ...programSchemas,
    ...assetSchemas,
    ...participantSchemas,
    ...ledgerSchemas,
    ...ruleSchemas,
    ...eventSchemas,
    ...tierSchemas,
    ...groupSchemas,
    ...transferSchemas,
    ...rewardSchemas,
    ...redemptionSchemas,
    ...reportingSchemas,
    ...logSchemas,
    ...webhookSchemas,
    ...automationSchemas,
  ];
  for (const schema of schemas) app.addSchema(schema);
  const recorder = new RequestLogRecorder(deps.db, deps.logger);
  app.addHook('onClose', async () => recorder.flush());
  registerProbes(app, deps.db);
  await registerConsole(app, deps.version);
  if (deps.metrics !== false) registerMetrics(app, deps.db);

  await app.register(async (v1) => {
    registerAuthentication(v1, (secret) => authenticate(deps.db, secret, deps.clock()));
    registerRateLimit(v1, deps.rateLimit);
    // A replica takes no writes, request logs included: they stay on the primary's processes.
    if (deps.readOnly !== true) registerRequestLogging(v1, recorder);
    const routeDeps = { db: deps.db, clock: deps.clock };
    await v1.register(programRoutes, { ...routeDeps, findLedgerEntity });
    await v1.register(assetRoutes, { ...routeDeps, openLedger: createSystemAccounts });
    await v1.register(participantRoutes, {
      ...routeDeps,
      stateReaders: [readParticipantBalances, tierStateReader],
    });
    await v1.register(ledgerRoutes, routeDeps);
    await v1.register(stateRoutes, routeDeps);
    await v1.register(ruleRoutes, routeDeps);
    await v1.register(tierRoutes, routeDeps);
    await v1.register(participantTierRoutes, routeDeps);
    await v1.register(groupRoutes, routeDeps);
    await v1.register(transferRoutes, { ...routeDeps, readGroupStatus: lockGroupStatus });
    await v1.register(rewardRoutes, routeDeps);
    await v1.register(redemptionRoutes, routeDeps);
    await v1.register(reportingRoutes, routeDeps);
    await v1.register(eventRoutes, { ...routeDeps, readRuleEvaluations: listRuleEvaluations });
    await v1.register(logRoutes, { ...routeDeps, recorder });
    await v1.register(webhookRoutes, { ...routeDeps, webhooks: deps.webhooks });
    await v1.register(automationRoutes, routeDeps);
  });
  return app;
}

const Probe = Type.Object(
  { status: Type.String() },
  { description: 'The probe result', examples: [{ status: 'ok' }, { status: 'database unreachable' }] },
);

function registerProbes(app: FastifyInstance, db: Database): void {
  const schema = (operationId: string, summary: string, description: string) => ({
    tags: ['Health'],
    operationId,
    summary,
    description,
    security: [],
    response: { 200: Probe, 503: Probe },
  });
  app.get(
    '/healthz',
    {
      schema: schema('checkHealth', 'The process is up', 'Needs no key. Answers 200 while the process runs.'),
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: schema(
        'checkReadiness',
        'The database is reachable',
        'Needs no key. Answers 200 when a query reaches the database, 503 otherwise: a load balancer takes the process out meanwhile.',
      ),
    },
    async (_request, reply) => {
      const ready = await isDatabaseReachable(db);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'database unreachable' });
    },
  );
}

/**
 * GET /metrics in Prometheus format, without a key (scrapers send none: keep the port internal), and
 * every request's latency by route template and status. Unmatched URLs share one label value, so a
 * scan of random paths cannot grow the series.
 */
function registerMetrics(app: FastifyInstance, db: Database): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status_code: String(reply.statusCode) };
    httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await renderMetricsOf(db);
    return reply.type(text.contentType).send(text.body);
  });
}

/** The metrics text, with the gauges that the database knows read now (also for `accrue worker`). */
export function renderMetricsOf(db: Database): Promise<MetricsText> {
  return renderMetrics(async () => {
    const [queue, entries] = await Promise.all([
      readQueueGauges(db, metricsQueueDepthCountMax),
      countJournalEntries(db),
    ]);
    eventQueueDepth.set(queue.depth);
    eventQueueOldestAge.set(queue.oldest_age_seconds);
    ledgerEntries.set(entries);
  });
}
