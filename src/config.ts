// The only reader of process.env. Every setting is typed, has a default, and an invalid value stops
// the start with a message that names the variable.
import path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  apiKey: string | undefined;
  logLevel: LogLevel;
  workerCount: number;
  pool: { sizeMax: number; waitMs: number };
  rateLimit: { ratePerSecond: number; burst: number };
  /** How long a worker's claim on an event lasts; a crashed worker's events return after it. */
  eventLeaseMs: number;
  /** How often the ledger jobs (maturity, expiry, sealer) run; due lots wait at most this long. */
  ledgerJobsIntervalMs: number;
  webhooks: WebhookConfig;
  metrics: MetricsConfig;
  /**
   * A read-only API process for a report replica (ACCRUE_READ_ONLY): no migrations, workers or
   * jobs, every write refused, and database sessions opened read-only. Needs DATABASE_URL.
   */
  readOnly: boolean;
}

export interface MetricsConfig {
  /** GET /metrics on the server's port, and a listener of its own in `accrue worker`. */
  enabled: boolean;
  /** The port on which `accrue worker` serves GET /metrics (the server uses its own port). */
  workerPort: number;
}

export interface WebhookConfig {
  /** Encrypts webhook secrets at rest; required with DATABASE_URL (see platform/secret-key.ts). */
  secretKey: string | undefined;
  /** Hosts and CIDRs exempt from the public-address rule, reachable over plain http too. */
  allowHosts: string[];
  /** The first retry waits about this long; each later one twice the previous, with jitter. */
  retryBaseMs: number;
  /** How long a receiver is left alone after consecutive failures. */
  circuitBreakMs: number;
  /** Outbox rows are kept this long after they were fanned out to deliveries. */
  outboxRetentionMs: number;
}

export class ConfigError extends Error {}

const logLevels: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Readonly<Record<string, string | undefined>>;

export function readConfig(env: Env = process.env): Config {
  return {
    port: readInteger(env, 'PORT', 3000, 0, 65535),
    host: readString(env, 'HOST') ?? '127.0.0.1',
    databaseUrl: readDatabaseUrl(env),
    dataDir: path.resolve(readString(env, 'ACCRUE_DATA_DIR') ?? './data'),
    apiKey: readApiKey(env),
    logLevel: readLogLevel(env),
    workerCount: readInteger(env, 'ACCRUE_WORKERS', 2, 0, 64),
    pool: {
      sizeMax: readInteger(env, 'ACCRUE_POOL_SIZE', 20, 2, 500),
      waitMs: readInteger(env, 'ACCRUE_POOL_WAIT_MS', 5000, 100, 600_000),
    },
    // Generous for self-hosting: a single tenant sending batches should never meet it.
    rateLimit: {
      ratePerSecond: readInteger(env, 'ACCRUE_RATE_LIMIT_PER_SECOND', 1000, 0, 1_000_000),
      burst: readInteger(env, 'ACCRUE_RATE_LIMIT_BURST', 2000, 1, 10_000_000),
    },
    eventLeaseMs: readInteger(env, 'ACCRUE_EVENT_LEASE_MS', 15_000, 500, 600_000),
    ledgerJobsIntervalMs: readInteger(env, 'ACCRUE_LEDGER_JOBS_INTERVAL_MS', 5000, 100, 3_600_000),
    webhooks: {
      secretKey: readSecretKey(env),
      allowHosts: readList(env, 'ACCRUE_WEBHOOK_ALLOW_HOSTS'),
      retryBaseMs: readInteger(env, 'ACCRUE_WEBHOOK_RETRY_BASE_MS', 30_000, 1, 3_600_000),
      circuitBreakMs: readInteger(env, 'ACCRUE_WEBHOOK_CIRCUIT_BREAK_MS', 300_000, 1, 86_400_000),
      outboxRetentionMs: readInteger(env, 'ACCRUE_OUTBOX_RETENTION_MS', 86_400_000, 0, 90 * 86_400_000),
    },
    metrics: {
      enabled: readBoolean(env, 'ACCRUE_METRICS', true),
      workerPort: readInteger(env, 'ACCRUE_METRICS_PORT', 9464, 1, 65535),
    },
    readOnly: readReadOnly(env),
  };
}

/** A replica is a PostgreSQL of its own: the embedded database is always a primary. */
function readReadOnly(env: Env): boolean {
  const readOnly = readBoolean(env, 'ACCRUE_READ_ONLY', false);
  if (readOnly && readString(env, 'DATABASE_URL') === undefined) {
    throw new ConfigError('ACCRUE_READ_ONLY=true needs DATABASE_URL (the replica to read from)');
  }
  return readOnly;
}

/** An empty value counts as unset. */
function readString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function readList(env: Env, name: string): string[] {
  return (readString(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function readSecretKey(env: Env): string | undefined {
  const raw = readString(env, 'ACCRUE_SECRET_KEY');
  if (raw !== undefined && raw.length < 32) {
    throw new ConfigError('ACCRUE_SECRET_KEY must be at least 32 characters (e.g. openssl rand -base64 32)');
  }
  return raw;
}

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  return raw === 'true';
}

function readDatabaseUrl(env: Env): string | undefined {
  const raw = readString(env, 'DATABASE_URL');
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL must be a URL such as postgres://user@host:5432/db');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must start with postgres:// or postgresql://, got "${url.protocol}"`);
  }
  return raw;
}

export const apiKeyPattern = /^sk_[A-Za-z0-9_-]{32,200}$/;

function readApiKey(env: Env): string | undefined {
  const raw = readString(env, 'ACCRUE_API_KEY');
  if (raw !== undefined && !apiKeyPattern.test(raw)) {
    throw new ConfigError('ACCRUE_API_KEY must be "sk_" followed by at least 32 letters, digits, "-" or "_"');
  }
  return raw;
}

function readLogLevel(env: Env): LogLevel {
  const raw = readString(env, 'LOG_LEVEL') ?? 'info';
  const level = logLevels.find((candidate) => candidate === raw);
  if (level === undefined)
    throw new ConfigError(`LOG_LEVEL must be one of ${logLevels.join(', ')}, got "${raw}"`);
  return level;
}
