import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './config.js';

describe('readConfig', () => {
  it('uses the defaults when nothing is set, and treats empty values as unset', () => {
    const config = readConfig({ PORT: '', HOST: ' ', DATABASE_URL: '', LOG_LEVEL: '' });
    expect(config).toMatchObject({ port: 3000, host: '127.0.0.1', databaseUrl: undefined, logLevel: 'info' });
    expect(config.dataDir).toMatch(/data$/);
  });

  it('reads every variable', () => {
    const key = `sk_${'a'.repeat(32)}`;
    const config = readConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://u@h:5432/d',
      ACCRUE_DATA_DIR: '/tmp/x',
      ACCRUE_API_KEY: key,
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'postgres://u@h:5432/d',
      dataDir: '/tmp/x',
      apiKey: key,
      logLevel: 'debug',
    });
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', 'abc'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['ACCRUE_API_KEY', `sk_${'a'.repeat(31)}`],
    ['LOG_LEVEL', 'loud'],
    ['ACCRUE_WORKERS', '-1'],
    ['ACCRUE_LEDGER_JOBS_INTERVAL_MS', '99'],
    ['ACCRUE_LEDGER_JOBS_INTERVAL_MS', '3600001'],
  ])('stops on an invalid %s (%s) with a message naming it', (name, value) => {
    expect(() => readConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => readConfig({ [name]: value })).toThrow(name);
  });

  it('serves metrics unless ACCRUE_METRICS is false; the worker on port 9464 unless told, 1 to 65535', () => {
    expect(readConfig({}).metrics).toEqual({ enabled: true, workerPort: 9464 });
    expect(readConfig({ ACCRUE_METRICS: 'false', ACCRUE_METRICS_PORT: '1' }).metrics).toEqual({
      enabled: false,
      workerPort: 1,
    });
    expect(readConfig({ ACCRUE_METRICS_PORT: '65535' }).metrics.workerPort).toBe(65535);
    expect(() => readConfig({ ACCRUE_METRICS: 'no' })).toThrow(
      'ACCRUE_METRICS must be true or false, got "no"',
    );
    expect(() => readConfig({ ACCRUE_METRICS_PORT: '0' })).toThrow(ConfigError);
    expect(() => readConfig({ ACCRUE_METRICS_PORT: '65536' })).toThrow('ACCRUE_METRICS_PORT');
  });

  it('is read-only only when ACCRUE_READ_ONLY is true, and then only on a DATABASE_URL', () => {
    const url = 'postgres://reader@replica:5432/accrue';
    expect(readConfig({}).readOnly).toBe(false);
    expect(readConfig({ ACCRUE_READ_ONLY: 'false' }).readOnly).toBe(false);
    expect(readConfig({ ACCRUE_READ_ONLY: 'true', DATABASE_URL: url }).readOnly).toBe(true);
    expect(() => readConfig({ ACCRUE_READ_ONLY: 'true' })).toThrow(
      'ACCRUE_READ_ONLY=true needs DATABASE_URL (the replica to read from)',
    );
    expect(() => readConfig({ ACCRUE_READ_ONLY: 'yes', DATABASE_URL: url })).toThrow(
      'ACCRUE_READ_ONLY must be true or false, got "yes"',
    );
  });

  it('runs the ledger jobs every 5 s unless told, from 100 ms to an hour', () => {
    expect(readConfig({}).ledgerJobsIntervalMs).toBe(5000);
    expect(readConfig({ ACCRUE_LEDGER_JOBS_INTERVAL_MS: '100' }).ledgerJobsIntervalMs).toBe(100);
    expect(readConfig({ ACCRUE_LEDGER_JOBS_INTERVAL_MS: '3600000' }).ledgerJobsIntervalMs).toBe(3_600_000);
  });

  it('accepts an API key of sk_ and 32 characters', () => {
    expect(readConfig({ ACCRUE_API_KEY: `sk_${'a'.repeat(32)}` }).apiKey).toHaveLength(35);
  });
});
