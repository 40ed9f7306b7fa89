// Process entry: configuration, database (embedded unless DATABASE_URL), migrations, the start-up
// key, HTTP, event workers, and graceful shutdown on SIGTERM/SIGINT.

import http from 'node:http';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { buildApp, renderMetricsOf } from './app.js';
import { type Config, ConfigError, readConfig } from './config.js';
import { type AutomationScheduler, startAutomationScheduler } from './modules/automations/index.js';
import { type EventWorkers, fireSystemEvents, startEventWorkers } from './modules/events/index.js';
import { startLedgerJobs } from './modules/ledger/index.js';
import { ensureStartupKey } from './modules/organizations/index.js';
import { startRuleEvaluation } from './modules/rules/index.js';
import { startTierLifecycle } from './modules/tiers/index.js';
import {
  createWebhookSettings,
  startWebhookDeliverer,
  type WebhookDeliverer,
  type WebhookSettings,
} from './modules/webhooks/index.js';
import { systemClock } from './platform/clock.js';
import { type DatabaseHandle, openDatabase } from './platform/db/database.js';
import { type EmbeddedRole, EmbeddedServerError } from './platform/db/embedded-server.js';
import { findPendingMigrations, migrate } from './platform/db/migrate.js';
import { createLogger, type Logger } from './platform/logger.js';
import { createProgress } from './platform/progress.js';
import { loadSecretKey } from './platform/secret-key.js';
import { version } from './platform/version.js';

export async function serve(): Promise<void> {
  const config = readConfigOrExit();
  const logger = createLogger(config.logLevel);
  // Checked before anything starts, so that a second server says why in one line and touches
  // nothing of the running one (its pid file, its PostgreSQL).
  if (await isPortInUse(config)) exitWithMessage(portInUseMessage(config));
  const signals = catchShutdownSignals();
  const webhooks = readWebhookSettings(config);
  const database = await openDatabaseOrExit(config, 'server', logger);
  try {
    if (config.readOnly) await requireCurrentSchema(database);
    else await prepareDatabase(config, database, logger);
    const app = await buildApp({
      db: database.db,
      clock: systemClock,
      logger,
      version,
      rateLimit: config.rateLimit,
      webhooks,
      metrics: config.metrics.enabled,
      readOnly: config.readOnly,
    });
    // Listen before the workers and jobs start, so that a failed listen has nothing else to stop.
    await app.listen({ port: config.port, host: config.host });
    const background = config.readOnly
      ? startReadOnlyBackground(logger)
      : startBackground(config, database, logger, webhooks);
    const where = { version, port: config.port, host: config.host, readOnly: config.readOnly };
    logger.info(
      where,
      config.readOnly
        ? 'Accrue is serving read-only (ACCRUE_READ_ONLY): reads and reports only, writes answer 503 read_only, no workers or jobs'
        : 'Accrue is serving',
    );
    signals.handle(async (signal) => {
      logger.info({ signal }, 'shutting down');
      // Stop taking requests first, then let the workers and jobs finish what they hold.
      await app.close();
      await background.stop();
      await database.close();
      process.exit(0);
    });
  } catch (error) {
    await database.close();
    // Another process took the port between the check and listen().
    if (isAddressInUse(error)) exitWithMessage(portInUseMessage(config));
    logger.fatal({ err: error }, 'start failed');
    process.exit(1);
  }
}

/** Pending migrations applied, and the first API key created on an empty database. */
async function prepareDatabase(config: Config, database: DatabaseHandle, logger: Logger): Promise<void> {
  const progress = createProgress('applying migrations');
  const { applied } = await migrate(database.connectionString, (done, total, file) =>
    progress.update(done, total, file),
  );
  progress.finish();
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  const created = await ensureStartupKey(database.db, config.apiKey);
  if (created !== undefined) printFirstKey(created.secret, created.organizationName);
}

/**
 * A read-only process migrates nothing (a replica takes no write): it starts only on a database
 * whose schema is this version's, which `accrue migrate` on the primary brings about.
 */
async function requireCurrentSchema(database: DatabaseHandle): Promise<void> {
  const pending = await findPendingMigrations(database.connectionString);
  if (pending.length === 0) return;
  await database.close();
  exitWithMessage(
    `ACCRUE_READ_ONLY: the database lacks ${pending.length} migration(s) of this version ` +
      `(${pending.slice(0, 3).join(', ')}${pending.length > 3 ? ', ...' : ''}); ` +
      'run `accrue migrate` on the primary, or start this version once there, then start this process again',
  );
}

interface Background {
  stop(): Promise<void>;
}

/** The ledger jobs, event workers, tier lifecycle, webhook deliverer and automation scheduler. */
function startBackground(
  config: Config,
  database: DatabaseHandle,
  logger: Logger,
  webhooks: WebhookSettings,
): Background {
  const stopLedgerJobs = startLedgerJobs(database.db, systemClock, logger, config.ledgerJobsIntervalMs);
  const workers = startWorkers(config, database, logger);
  const tierLifecycle = startTierLifecycle(database.db, systemClock, logger);
  const deliverer = startDeliverer(config, database, logger, webhooks);
  const scheduler = startScheduler(database, logger);
  return {
    async stop() {
      await tierLifecycle.stop();
      await scheduler.stop();
      await stopLedgerJobs();
      await workers.stop();
      await deliverer.stop();
    },
  };
}

/** Nothing that writes; only the rule thread, which POST /v1/rules/{id}/simulate reads through. */
function startReadOnlyBackground(logger: Logger): Background {
  startRuleEvaluation(logger);
  return { stop: async () => {} };
}

/** Event workers on this process's database; `ACCRUE_WORKERS=0` runs none (an API-only node). */
export function startWorkers(config: Config, database: DatabaseHandle, logger: Logger): EventWorkers {
  // Rules run in their own thread (simulate too, so also on API-only nodes); started before the first event.
  startRuleEvaluation(logger);
  return startEventWorkers({
    db: database.db,
    connectionString: database.connectionString,
    clock: systemClock,
    logger,
    workerCount: config.workerCount,
    leaseMs: config.eventLeaseMs,
  });
}

/** The automation scheduler (automations, SCHEDULE_EVENT, BROADCAST); any number of processes may run it. */
export function startScheduler(database: DatabaseHandle, logger: Logger): AutomationScheduler {
  return startAutomationScheduler({
    db: database.db,
    clock: systemClock,
    log: logger,
    fireEvents: fireSystemEvents,
  });
}

/** The secret key (generated on the embedded database) and the URL policy of webhook endpoints. */
export function readWebhookSettings(config: Config): WebhookSettings {
  const source = { ...config.webhooks, databaseUrl: config.databaseUrl, dataDir: config.dataDir };
  try {
    return createWebhookSettings(loadSecretKey(source), config.webhooks.allowHosts);
  } catch (error) {
    // A missing ACCRUE_SECRET_KEY beside DATABASE_URL: one sentence, before anything starts.
    if (error instanceof ConfigError) exitWithMessage(error.message);
    throw error;
  }
}

/** The webhook deliverer on this process's database, beside the event workers. */
export function startDeliverer(
  config: Config,
  database: DatabaseHandle,
  logger: Logger,
  settings: WebhookSettings,
): WebhookDeliverer {
  return startWebhookDeliverer({ db: database.db, clock: systemClock, logger, settings, ...config.webhooks });
}

export interface MetricsListener {
  close(): Promise<void>;
}

/**
 * `accrue worker` has no HTTP server, so GET /metrics gets a listener of its own on HOST and
 * ACCRUE_METRICS_PORT. A port in use (another worker on the same host) is a warning, not a failed
 * start: the worker's job is events, and its metrics can move to another port.
 */
export async function serveWorkerMetrics(
  config: Config,
  database: DatabaseHandle,
  logger: Logger,
): Promise<MetricsListener> {
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    renderMetricsOf(database.db).then(
      (text) => response.writeHead(200, { 'content-type': text.contentType }).end(text.body),
      (error: unknown) => {
        logger.warn({ err: error }, 'metrics scrape failed');
        response.writeHead(503).end();
      },
    );
  });
  const port = config.metrics.workerPort;
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', (error) => {
      logger.warn({ err: error, port }, 'metrics not served: ACCRUE_METRICS_PORT is unavailable');
      resolve(false);
    });
    server.listen({ port, host: config.host }, () => resolve(true));
  });
  if (listening) logger.info({ port, host: config.host }, 'metrics served on /metrics');
  return { close: () => new Promise((resolve) => (listening ? server.close(() => resolve()) : resolve())) };
}

export interface ShutdownSignals {
  /** Runs `shutdown` on the first SIGTERM or SIGINT, at once if one came before. */
  handle(shutdown: (signal: string) => Promise<void>): void;
}

/**
 * Catches SIGTERM and SIGINT from now on, so that no signal ends the process by default: one that
 * comes while it starts is kept until `handle`, and later ones are ignored while the first drains
 * (Ctrl-C reaches npm and the server both, and npm forwards its copy too), so the embedded
 * PostgreSQL is always stopped by the shutdown rather than left running.
 */
export function catchShutdownSignals(): ShutdownSignals {
  let received: string | undefined;
  let shutdown: ((signal: string) => Promise<void>) | undefined;
  const onSignal = (signal: string) => {
    if (received !== undefined) return;
    received = signal;
    if (shutdown !== undefined) void shutdown(signal);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, onSignal);
  return {
    handle(handler) {
      shutdown = handler;
      if (received !== undefined) void handler(received);
    },
  };
}

export function readConfigOrExit(): Config {
  try {
    return readConfig();
  } catch (error) {
    if (error instanceof ConfigError) exitWithMessage(error.message);
    throw error;
  }
}

/** The database, or one line saying why the embedded PostgreSQL cannot run here, and exit 1. */
export async function openDatabaseOrExit(
  config: Config,
  role: EmbeddedRole,
  logger: Logger,
): Promise<DatabaseHandle> {
  try {
    return await openDatabase(config, role, logger);
  } catch (error) {
    if (error instanceof EmbeddedServerError) exitWithMessage(error.message);
    throw error;
  }
}

function exitWithMessage(message: string): never {
  process.stderr.write(`accrue: ${message}\n`);
  process.exit(1);
}

function portInUseMessage(config: Config): string {
  return `port ${config.port} is in use on ${config.host}: stop what listens there or set PORT`;
}

function isAddressInUse(error: unknown): boolean {
  return (error as { code?: string } | undefined)?.code === 'EADDRINUSE';
}

/** Any other failure to bind (a foreign HOST, a privileged port) is left for listen() to report. */
async function isPortInUse(config: Config): Promise<boolean> {
  if (config.port === 0) return false;
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (error) => resolve(isAddressInUse(error)));
    probe.listen({ port: config.port, host: config.host, exclusive: true }, () =>
      probe.close(() => resolve(false)),
    );
  });
}

function printFirstKey(secret: string, organization: string): void {
  process.stdout.write(
    `\nNo API key existed, so one was created for organization "${organization}".\n` +
      'It is shown only this once; store it now:\n\n' +
      `  ${secret}\n\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await serve();
