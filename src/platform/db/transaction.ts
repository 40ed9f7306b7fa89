// The one way to run a database transaction. Transient failures (serialization, deadlock) are retried
// with exponential backoff a bounded number of times; anything else propagates at once.
import type { Kysely, Transaction } from 'kysely';

const transientCodes = new Set(['40001', '40P01']);
const attemptsMax = 5;
const backoffBaseMs = 5;

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
      if (!isTransientDatabaseError(error) || attempt >= attemptsMax) throw error;
      const delayMs = backoffBaseMs * 2 ** attempt * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const pgError = error as { code?: unknown; constraint?: unknown } | null;
  return pgError?.code === '23505' && (constraint === undefined || pgError.constraint === constraint);
}
