// Starts one PostgreSQL for the whole run (the embedded one, or DATABASE_URL's server) and migrates a
// template database. Each test file then clones the template, so files run in parallel in isolation.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openEmbeddedServer } from '../src/platform/db/embedded-server.js';
import { migrate } from '../src/platform/db/migrate.js';
import { createLogger } from '../src/platform/logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject) {
  let adminUrl = process.env.DATABASE_URL;
  let stopServer = async () => {};
  if (adminUrl === undefined || adminUrl === '') {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'accrue-test-'));
    await fs.chmod(dataDir, 0o755);
    const server = await openEmbeddedServer(dataDir, 'cli', createLogger('warn'));
    adminUrl = server.connectionString;
    stopServer = async () => {
      await server.release();
      await fs.rm(dataDir, { recursive: true, force: true });
    };
  }
  const template = `accrue_template_${process.pid}_${Date.now()}`;
  await adminQuery(adminUrl, `create database ${template}`);
  await migrate(withDatabase(adminUrl, template));
  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);
  return async () => {
    await adminQuery(adminUrl, `drop database if exists ${template} with (force)`);
    await stopServer();
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function adminQuery(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
