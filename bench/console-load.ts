// `npx tsx bench/console-load.ts [--screenshots]`: the console's bundle size (every file the browser
// fetches for the first page, raw and gzipped) and first-load time in Debian's Chromium (cold cache:
// navigation to the sign-in form, and sign-in to the overview's figures), median of 5. With
// --screenshots, writes docs/console/*.png of each page at 1280 px and two at 390 px, on a small
// demo program sent through the API (an asset, rules, a tier, an automation, members and events). Starts Accrue as its own process (embedded database unless
// DATABASE_URL, where it uses a new database of that server). A measurement only.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../test/console/browser.js';
import { runCli, startServer } from '../test/process/run-process.js';
import { createScratchDatabase } from './scratch-database.js';

const runs = 5;
const shotsDir = path.resolve(import.meta.dirname, '../docs/console');

async function call(base: string, key: string, method: string, url: string, body?: unknown) {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** A program a user could model in the console: an asset, two rules, a tier, members and events. */
async function seedDemo(base: string, key: string) {
  const post = (url: string, body: unknown) => call(base, key, 'POST', url, body);
  const program = await post('/v1/programs', { name: 'Coffee club', on_unknown_participant: 'CREATE' });
  const asset = await post('/v1/assets', {
    program_id: program.id,
    name: 'Beans',
    symbol: 'BEAN',
    scale: 0,
    inventory_mode: 'LOT',
    issuance_policy: 'UNLIMITED',
  });
  await post('/v1/rules', {
    program_id: program.id,
    name: 'One bean per euro',
    condition: 'event.type == "purchase"',
    actions: [
      { type: 'CREDIT', asset_id: asset.id, amount: 'round(event.amount, 0)', expires_at: 'P365D' },
      { type: 'COUNTER', key: 'spend', operation: 'INCREMENT', value: 'event.amount' },
    ],
  }).catch(() =>
    post('/v1/rules', {
      program_id: program.id,
      name: 'One bean per euro',
      condition: 'event.type == "purchase"',
      actions: [{ type: 'CREDIT', asset_id: asset.id, amount: 'round(event.amount, 0)' }],
    }),
  );
  await post('/v1/rules', {
    program_id: program.id,
    name: 'Redeem a coffee',
    condition: 'event.type == "redeem"',
    actions: [{ type: 'DEBIT', asset_id: asset.id, amount: '50.0' }],
  });
  await post(`/v1/programs/${program.id}/tiers`, {
    key: 'status',
    display_name: 'Status',
    levels: [
      { key: 'member', rank: 0 },
      {
        key: 'gold',
        rank: 1,
        qualification: { mode: 'ALL', criteria: [{ counter: 'spend', operator: '>=', threshold: 100 }] },
      },
    ],
  }).catch(() => undefined);
  const names = ['ana', 'ben', 'chloe', 'dev', 'eve'];
  for (const [index, name] of names.entries()) {
    await post('/v1/participants', {
      external_id: name,
      email: `${name}@example.com`,
      first_name: name[0]?.toUpperCase() + name.slice(1),
      program_id: program.id,
      tags: index === 0 ? ['vip'] : [],
    });
    for (let order = 0; order < 4; order += 1) {
      await post('/v1/events', {
        program_id: program.id,
        external_id: name,
        idempotency_key: `${name}-${order}`,
        event_timestamp: new Date().toISOString(),
        event_data: { type: 'purchase', amount: 12 + index * 7 + order * 3 },
      });
    }
  }
  await post('/v1/events', {
    program_id: program.id,
    external_id: 'eve',
    idempotency_key: 'eve-redeem-early',
    event_timestamp: new Date().toISOString(),
    event_data: { type: 'redeem' },
  });
  await post(`/v1/programs/${program.id}/automations`, {
    name: 'Monthly statement',
    event_name: 'monthly_statement',
    scope: 'participants',
    trigger: { type: 'cron', cron_expression: '0 9 1 * *', timezone: 'Europe/Paris' },
    payload: { channel: 'email' },
  });
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return program.id as string;
}

async function measureBundle(browser: Browser, base: string) {
  const page = await browser.newPage();
  const files: Array<{ url: string; bytes: number; gzip: number }> = [];
  page.on('response', async (response) => {
    if (!response.url().startsWith(base)) return;
    const body = await response.body().catch(() => Buffer.alloc(0));
    files.push({ url: response.url().slice(base.length), bytes: body.length, gzip: gzipSync(body).length });
  });
  await page.goto(`${base}/console/`);
  await page.locator('#f-key').waitFor();
  await page.waitForLoadState('networkidle');
  await page.close();
  for (const file of files.sort((a, b) => b.bytes - a.bytes))
    process.stdout.write(
      `  ${file.url.padEnd(36)} ${String(file.bytes).padStart(7)} B  gzip ${String(file.gzip).padStart(6)} B\n`,
    );
  const sum = (field: 'bytes' | 'gzip') => files.reduce((total, file) => total + file[field], 0);
  process.stdout.write(
    `bundle: ${files.length} files, ${(sum('bytes') / 1024).toFixed(1)} KiB, ${(sum('gzip') / 1024).toFixed(1)} KiB gzipped\n`,
  );
}

async function measureFirstLoad(browser: Browser, base: string, key: string) {
  const toForm: number[] = [];
  const toOverview: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(`${base}/console/`);
    await page.locator('#f-key').waitFor();
    toForm.push(performance.now() - started);
    await page.fill('#f-key', key);
    const signedIn = performance.now();
    await page.click('button[type=submit]');
    await page.locator('.figure strong').first().waitFor();
    toOverview.push(performance.now() - signedIn);
    await context.close();
  }
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  process.stdout.write(
    `first load (cold cache, median of ${runs}): sign-in form ${median(toForm).toFixed(0)} ms; sign-in to overview figures ${median(toOverview).toFixed(0)} ms\n`,
  );
}

async function screenshots(browser: Browser, base: string, key: string) {
  await fs.mkdir(shotsDir, { recursive: true });
  const shoot = async (page: Page, name: string, hash: string, ready: string) => {
    await page.goto(`${base}/console/${hash}`);
    await page.locator(ready).first().waitFor();
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: true });
    process.stdout.write(`  docs/console/${name}.png\n`);
  };
  for (const [width, suffix] of [
    [1280, ''],
    [390, '-390'],
  ] as const) {
    const page = await browser.newPage({ viewport: { width, height: 800 } });
    await page.goto(`${base}/console/`);
    if (suffix === '') await page.screenshot({ path: path.join(shotsDir, 'sign-in.png') });
    await page.fill('#f-key', key);
    await page.click('button[type=submit]');
    await page.locator('.figure').first().waitFor();
    const ana = (await call(base, key, 'GET', '/v1/participants?external_id=ana')).data[0].id;
    const pages: Array<[string, string, string]> =
      suffix === ''
        ? [
            ['overview', '#/overview', '.figure'],
            ['participants', '#/participants', 'table'],
            ['participant', `#/participants/${ana}`, '.kind-event'],
            ['events', '#/events', 'table'],
            ['rules', '#/rules', 'table'],
            ['rule-editor', '#/rules/new', 'textarea'],
            ['ledger', '#/ledger', 'table'],
            ['tiers', '#/tiers', 'table'],
            ['automations', '#/automations', 'table'],
            ['catalog', '#/catalog', '.card'],
          ]
        : [
            ['overview', '#/overview', '.figure'],
            ['participant', `#/participants/${ana}`, '.kind-event'],
          ];
    for (const [name, hash, ready] of pages) await shoot(page, `${name}${suffix}`, hash, ready);
    await page.close();
  }
}

async function main(): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'accrue-console-load-'));
  await fs.chmod(dataDir, 0o755);
  const admin = process.env.DATABASE_URL;
  const scratch = admin ? await createScratchDatabase(admin, 'accrue_console_load') : undefined;
  const env = {
    ACCRUE_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...(scratch === undefined ? {} : { DATABASE_URL: scratch.url }),
  };
  const server = await startServer({ ...env, LOG_LEVEL: 'info' }, 120_000);
  const browser = await launchChromium();
  try {
    const key =
      runCli(['keys', 'create', '--org', `console-load-${Date.now()}`], env)
        .stdout.trim()
        .split('\n')
        .pop() ?? '';
    const base = `http://127.0.0.1:${server.port}`;
    await seedDemo(base, key);
    await measureBundle(browser, base);
    await measureFirstLoad(browser, base, key);
    if (process.argv.includes('--screenshots')) await screenshots(browser, base, key);
  } finally {
    await browser.close();
    server.child.kill('SIGTERM');
    await server.exited;
    await scratch?.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

await main();
