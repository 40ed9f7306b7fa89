// The one way to run a database transaction. Transient failures (serialization, deadlock) are retried
// with exponential backoff a bounded number of times; anything else propagates at once.
import type { Kysely, Transaction } from 'kysely';
import { transactionAttemptsMax, transactionBackoffBaseMs } from '../limits.js';

const transientCodes = new Set(['40001', '40P01']);

export function isTransientDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && transientCodes.has(code);
}

export async function withTransaction<DB, T>(
  db: Kysely<DB>,
  work: (trx: Transaction<DB>) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      if (!isTransientDatabaseError(error) || attempt >= transactionAttemptsMax) throw error;
      const delayMs = transactionBackoffBaseMs * 2 ** attempt * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pgError = error as { code?: unknown; constraint?: unknown } | null;
  return pgError?.code === '23505' && (constraint === undefined || pgError.constraint === constraint);
}

/** PostgreSQL refused a write in a read-only session or on a hot standby (25006). */
export function isReadOnlyRefusal(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '25006';
}

// Connection-level failures: the database is down or restarting. The client may retry.
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  '57P01',
  '57P02',
  '57P03',
  '08006',
  '08001',
  '08003',
]);

/** The database is down, restarting or out of connections: the caller may retry (HTTP answers 503). */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && unavailableCodes.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
    message,
  );
}
