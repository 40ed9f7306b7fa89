// Process entry: configuration, database (embedded unless DATABASE_URL), migrations, the start-up
// key, HTTP, event workers, and graceful shutdown on SIGTERM/SIGINT.
import { buildApp } from './app.js';
import { type Config, ConfigError, readConfig } from './config.js';
import {
  createRulesBatch,
  createRulesStep,
  type EventWorkers,
  startEventWorkers,
} from './modules/events/index.js';
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
import { migrate } from './platform/db/migrate.js';
import { createLogger, type Logger } from './platform/logger.js';
import { loadSecretKey } from './platform/secret-key.js';
import { version } from './platform/version.js';

export async function serve(): Promise<void> {
  const config = readConfigOrExit();
  const logger = createLogger(config.logLevel);
  const database = await openDatabase(config, 'server', logger);
  const stopping = { value: false };
  try {
    const { applied } = await migrate(database.connectionString);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const webhooks = readWebhookSettings(config);
    const created = await ensureStartupKey(database.db, config.apiKey);
    if (created !== undefined) printFirstKey(created.secret, created.organizationName);
    const app = await buildApp({
      db: database.db,
      clock: systemClock,
      logger,
      version,
      rateLimit: config.rateLimit,
      webhooks,
    });
    const stopLedgerJobs = startLedgerJobs(database.db, systemClock, logger, config.ledgerJobsIntervalMs);
    const workers = startWorkers(config, database, logger);
    const tierLifecycle = startTierLifecycle(database.db, systemClock, logger);
    const deliverer = startDeliverer(config, database, logger, webhooks);
    const shutdown = async (signal: string) => {
      if (stopping.value) return;
      stopping.value = true;
      logger.info({ signal }, 'shutting down');
      // Stop taking requests first, then let the workers and jobs finish what they hold.
      await app.close();
      await tierLifecycle.stop();
      await stopLedgerJobs();
      await workers.stop();
      await deliverer.stop();
      await database.close();
      process.exit(0);
    };
    onShutdownSignal(shutdown);
    await app.listen({ port: config.port, host: config.host });
    logger.info({ version, port: config.port, host: config.host }, 'Accrue is serving');
  } catch (error) {
    logger.fatal({ err: error }, 'start failed');
    await database.close();
    process.exit(1);
  }
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
    // After participant resolution, inside the event's transaction: rules, their actions, tiers.
    steps: [createRulesStep({ db: database.db, clock: systemClock })],
    // Plain events of a claim skip the steps: evaluated in memory, written together.
    batch: createRulesBatch({ db: database.db, clock: systemClock }),
  });
}

/** The secret key (generated on the embedded database) and the URL policy of webhook endpoints. */
export function readWebhookSettings(config: Config): WebhookSettings {
  const source = { ...config.webhooks, databaseUrl: config.databaseUrl, dataDir: config.dataDir };
  return createWebhookSettings(loadSecretKey(source), config.webhooks.allowHosts);
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

/** Runs `shutdown` once on SIGTERM or SIGINT: requests drain, workers finish what they hold. */
export function onShutdownSignal(shutdown: (signal: string) => Promise<void>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown(signal));
}

export function readConfigOrExit() {
  try {
    return readConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`accrue: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

function printFirstKey(secret: string, organization: string): void {
  process.stdout.write(
    `\nNo API key existed, so one was created for organization "${organization}".\n` +
      'It is shown only this once; store it now:\n\n' +
      `  ${secret}\n\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await serve();
