// Process entry: configuration, database (embedded unless DATABASE_URL), migrations, the start-up
// key, HTTP, and graceful shutdown on SIGTERM/SIGINT.
import { buildApp } from './app.js';
import { ConfigError, readConfig } from './config.js';
import { ensureStartupKey } from './modules/organizations/index.js';
import { startTierLifecycle } from './modules/tiers/index.js';
import { systemClock } from './platform/clock.js';
import { openDatabase } from './platform/db/database.js';
import { migrate } from './platform/db/migrate.js';
import { createLogger } from './platform/logger.js';
import { version } from './platform/version.js';

export async function serve(): Promise<void> {
  const config = readConfigOrExit();
  const logger = createLogger(config.logLevel);
  const database = await openDatabase(config, 'server', logger);
  const stopping = { value: false };
  try {
    const { applied } = await migrate(database.connectionString);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const created = await ensureStartupKey(database.db, config.apiKey);
    if (created !== undefined) printFirstKey(created.secret, created.organizationName);
    const app = await buildApp({ db: database.db, clock: systemClock, logger, version });
    const tierLifecycle = startTierLifecycle(database.db, systemClock, logger);
    const shutdown = async (signal: string) => {
      if (stopping.value) return;
      stopping.value = true;
      logger.info({ signal }, 'shutting down');
      await tierLifecycle.stop();
      await app.close();
      await database.close();
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
    await app.listen({ port: config.port, host: config.host });
    logger.info({ version, port: config.port, host: config.host }, 'Accrue is serving');
  } catch (error) {
    logger.fatal({ err: error }, 'start failed');
    await database.close();
    process.exit(1);
  }
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
