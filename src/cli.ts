// The `accrue` command. Every command reads the same configuration as the server and works whether
// or not a server is running on the same data directory (the embedded database is then shared).
import { parseArgs } from 'node:util';
import type { Config } from './config.js';
import {
  catchShutdownSignals,
  openDatabaseOrExit,
  readConfigOrExit,
  readWebhookSettings,
  serve,
  serveWorkerMetrics,
  startDeliverer,
  startScheduler,
  startWorkers,
} from './main.js';
import { verifyLedger } from './modules/ledger/index.js';
import {
  createApiKey,
  listApiKeys,
  readOrganizationNames,
  revokeApiKey,
} from './modules/organizations/index.js';
import { systemClock } from './platform/clock.js';
import type { DatabaseHandle } from './platform/db/database.js';
import { migrate } from './platform/db/migrate.js';
import { DomainError } from './platform/errors.js';
import { createLogger } from './platform/logger.js';
import { createProgress } from './platform/progress.js';

const usage = `usage: accrue <command>

  serve                     run the HTTP server (the same as npm start)
  worker                    run event workers, the webhook deliverer and the automation scheduler, no HTTP (ACCRUE_WORKERS, at least 1)
  migrate                   apply pending database migrations
  keys create --org NAME    create a key (and the organization if needed); prints the key last
  keys list [--org NAME]    list keys (never the secrets), all or one organization's
  keys revoke ID            revoke a key; it stops working on the next request
  ledger verify             seal pending entries, verify every hash chain and recompute every stored
                            balance from the postings; exits 1 on any difference
  help                      print this (also --help, -h)
`;

type Command = (database: DatabaseHandle, args: string[]) => Promise<void>;

const commands: Record<string, Command> = {
  migrate: async (database) => {
    const { applied } = await migrateShowingProgress(database);
    print(applied.length === 0 ? 'database is up to date' : `applied ${applied.join(', ')}`);
  },
  'keys create': async (database, args) => {
    const { org } = parseOrgOption(args);
    if (org === undefined) throw new UsageError('keys create needs --org NAME');
    await migrate(database.connectionString);
    const key = await createApiKey(database.db, org);
    print(`organization ${key.organizationName} (${key.organizationId}), key id ${key.apiKeyId}`);
    print(key.secret);
  },
  'keys list': async (database, args) => {
    const { org } = parseOrgOption(args);
    await migrate(database.connectionString);
    const rows = (await listApiKeys(database.db, org)).map((key) => [
      key.id,
      `${key.key_prefix}...`,
      key.organization_name,
      key.created_at.toISOString(),
      key.revoked_at === null ? 'active' : `revoked ${key.revoked_at.toISOString()}`,
    ]);
    printTable(['KEY ID', 'PREFIX', 'ORGANIZATION', 'CREATED', 'STATE'], rows);
  },
  'keys revoke': async (database, args) => {
    const id = args[0];
    if (id === undefined || !/^[0-9a-f-]{36}$/i.test(id))
      throw new UsageError('keys revoke needs a key id (a UUID)');
    await revokeApiKey(database.db, id);
    print(`revoked ${id}`);
  },
  'ledger verify': async (database) => {
    await migrateShowingProgress(database);
    const progress = createProgress('verifying organizations');
    const { ok, reports } = await verifyLedger(database.db, systemClock, (done, total) =>
      progress.update(done, total),
    );
    progress.finish();
    const names = await readOrganizationNames(database.db);
    const rows = reports.map((report) => {
      const failed = Object.entries(report)
        .filter(([, value]) => typeof value === 'object' && value !== null && 'pass' in value && !value.pass)
        .map(([name]) => name);
      return [
        names.get(report.organization_id) ?? '',
        report.organization_id,
        report.chain_head === null ? 'empty' : `#${report.chain_head.sequence_number}`,
        failed.length === 0 ? 'ok' : `FAILED: ${failed.join(', ')}`,
      ];
    });
    printTable(['ORGANIZATION', 'ID', 'CHAIN HEAD', 'RESULT'], rows);
    if (!ok) throw new DomainError('integrity_violation', 'ledger verification failed');
    print(`ledger verified: ${reports.length} organization(s), no difference`);
  },
};

class UsageError extends Error {}

/** Migrations, with a progress line on a terminal (each can take long on a large database). */
async function migrateShowingProgress(database: DatabaseHandle) {
  const progress = createProgress('applying migrations');
  try {
    return await migrate(database.connectionString, (done, total, file) =>
      progress.update(done, total, file),
    );
  } finally {
    progress.finish();
  }
}

/** `--org NAME`, the only option any command takes; anything else is a usage error, not a stack. */
function parseOrgOption(args: string[]): { org?: string } {
  try {
    return parseArgs({ args, options: { org: { type: 'string' } } }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Left-aligned columns under a header row, two spaces apart. */
function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  for (const row of [header, ...rows]) {
    print(
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  }
}

async function run(argv: string[]): Promise<number> {
  const [first, second, ...rest] = argv;
  if (first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(usage);
    return 0;
  }
  if (first === 'serve') {
    await serve();
    return -1;
  }
  const twoWords = commands[`${first} ${second}`];
  const command = twoWords ?? (first === undefined ? undefined : commands[first]);
  if (command === undefined && first !== 'worker') {
    process.stderr.write(usage);
    return 2;
  }
  const config = readConfigOrExit();
  if (config.readOnly) {
    // Every other command writes (migrations, keys, seals, events): it belongs on the primary.
    process.stderr.write(
      `accrue: ${twoWords ? `${first} ${second}` : first} writes to the database, and ACCRUE_READ_ONLY=true allows only \`accrue serve\`; run it without ACCRUE_READ_ONLY against the primary\n`,
    );
    return 1;
  }
  if (command === undefined) {
    await runWorkers(config);
    return -1;
  }
  const args = twoWords ? rest : argv.slice(1);
  const database = await openDatabaseOrExit(
    config,
    'cli',
    createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel),
  );
  try {
    await command(database, args);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof DomainError) {
      process.stderr.write(`accrue: ${error.message}\n`);
      return error instanceof UsageError ? 2 : 1;
    }
    throw error;
  } finally {
    await database.close();
  }
}

/** Workers without HTTP, until SIGTERM/SIGINT; they finish the events they hold before exiting. */
async function runWorkers(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const signals = catchShutdownSignals();
  const webhooks = readWebhookSettings(config);
  // The cli role shares an embedded PostgreSQL with a running server and never takes its pid file.
  const database = await openDatabaseOrExit(config, 'cli', logger);
  await migrate(database.connectionString);
  const workers = startWorkers({ ...config, workerCount: Math.max(1, config.workerCount) }, database, logger);
  const deliverer = startDeliverer(config, database, logger, webhooks);
  const metrics = config.metrics.enabled ? await serveWorkerMetrics(config, database, logger) : undefined;
  const scheduler = startScheduler(database, logger);
  logger.info(
    { workers: Math.max(1, config.workerCount) },
    'Accrue event workers and webhook deliverer are running',
  );
  signals.handle(async (signal) => {
    logger.info({ signal }, 'shutting down');
    await metrics?.close();
    await scheduler.stop();
    await workers.stop();
    await deliverer.stop();
    await database.close();
    process.exit(0);
  });
}

const code = await run(process.argv.slice(2));
if (code >= 0) process.exit(code);
