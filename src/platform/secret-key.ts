// The key that encrypts secrets at rest (webhook signing secrets). Every process of a deployment
// must share it: with DATABASE_URL it comes from ACCRUE_SECRET_KEY and is required; on the embedded
// database it is generated once into the data directory, beside the database it protects.
import { hkdfSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config.js';

const keyFileName = 'secret-key';

export interface SecretKeySource {
  secretKey: string | undefined;
  databaseUrl: string | undefined;
  dataDir: string;
}

/** The 32-byte encryption key, derived from the configured or generated key text. */
export function loadSecretKey(source: SecretKeySource): Buffer {
  return deriveSecretKey(source.secretKey ?? readOrCreateKeyFile(source));
}

export function deriveSecretKey(text: string): Buffer {
  return Buffer.from(hkdfSync('sha256', text, 'accrue', 'accrue secrets at rest v1', 32));
}

function readOrCreateKeyFile(source: SecretKeySource): string {
  if (source.databaseUrl !== undefined) {
    throw new ConfigError(
      'ACCRUE_SECRET_KEY must be set when DATABASE_URL is (the same value on every process); ' +
        'generate one with: openssl rand -base64 32',
    );
  }
  const file = path.join(source.dataDir, keyFileName);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
  mkdirSync(source.dataDir, { recursive: true });
  const generated = randomBytes(32).toString('base64');
  // 'wx' fails if another process created it in between; then its key is the one to use.
  try {
    writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: 'wx' });
    return generated;
  } catch {
    return readFileSync(file, 'utf8').trim();
  }
}
