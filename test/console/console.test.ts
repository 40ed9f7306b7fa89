// The console end to end in a real browser against a real server (HTTP on a port, event workers,
// PostgreSQL): sign in, find a participant and read the timeline, create a rule after simulating it,
// see an event sent through the API appear, retry a failed event, download the server's CSV, edit budgets
// and a tier, reverse part of a redemption, create and trigger an automation.
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventWorkers } from '../../src/modules/events/index.js';
import { buildTestApp, startTestWorkers, type Tenant, type TestApp } from '../harness.js';
import { launchChromium } from './browser.js';

let t: TestApp;
let acme: Tenant;
let workers: EventWorkers;
let browser: Browser;
let page: Page;
let origin: string;
let programId: string;
let assetId: string;

async function post(url: string, body: unknown) {
  const response = await acme.request('POST', url, body);
  if (response.statusCode >= 300) throw new Error(`${url} answered ${response.statusCode}: ${response.body}`);
  return response.json();
}

async function sendEvent(key: string, data: Record<string, unknown>, externalId = 'ana') {
  return post('/v1/events', {
    program_id: programId,
    external_id: externalId,
    idempotency_key: key,
    event_timestamp: new Date().toISOString(),
    event_data: data,
  });
}

async function waitForStatus(eventId: string, status: string) {
  await expect
    .poll(async () => (await acme.request('GET', `/v1/events/${eventId}`)).json().status, { timeout: 10_000 })
    .toBe(status);
}

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization('console');
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  workers = startTestWorkers(t);
  programId = (await post('/v1/programs', { name: 'Coffee club', on_unknown_participant: 'CREATE' })).id;
  assetId = (
    await post('/v1/assets', {
      program_id: programId,
      name: 'Beans',
      symbol: 'BEAN',
      inventory_mode: 'SIMPLE',
      issuance_policy: 'UNLIMITED',
      scale: 2,
    })
  ).id;
  await post('/v1/participants', {
    external_id: 'ana',
    email: 'ana@example.com',
    first_name: 'Ana',
    program_id: programId,
    tags: ['regular'],
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // Shorter than the test's own timeout, so that a failure names the step that waited.
  page.setDefaultTimeout(15_000);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await workers?.stop();
});

describe('the console in a browser', () => {
  it('/ links the console, the API reference, health and the version', async () => {
    await page.goto(`${origin}/`);
    await expect.poll(() => page.locator('a[href="/console/"]').count()).toBe(1);
    expect(await page.locator('a[href="/docs"]').count()).toBe(1);
    expect(await page.locator('a[href="/healthz"]').count()).toBe(1);
    expect(await page.textContent('body')).toContain('version test');
  });

  it('refuses a wrong key with the API message, then signs in with the right one', async () => {
    await page.goto(`${origin}/console/`);
    await page.fill('#f-key', 'sk_wrong_000000000000000000000000000000');
    await page.click('button[type=submit]');
    await page.getByText('invalid or revoked API key').waitFor();
    await page.fill('#f-key', acme.key);
    await page.click('button[type=submit]');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.evaluate("sessionStorage.getItem('accrue.apiKey')")).toBe(acme.key);
    expect(await page.evaluate('localStorage.length')).toBe(0);
  });

  it('creates a rule after simulating it, and the rule then runs on events', async () => {
    await page.goto(`${origin}/console/#/rules/new`);
    await page.fill('#f-name', 'Ten beans per euro');
    await page.fill('#f-condition', 'event.type == ');
    await page.getByText('syntax error').first().waitFor();
    await page.fill('#f-condition', 'event.type == "purchase"');
    await page.fill(
      '#f-actions',
      JSON.stringify([{ type: 'CREDIT', asset_id: assetId, amount: 'round(event.amount * 10.0, 2)' }]),
    );
    await page.getByText('Valid.').waitFor();
    await page.fill('#f-event', '{"type": "purchase", "amount": 4.5}');
    await page.getByRole('button', { name: 'Simulate' }).click();
    await page.getByText('Simulation: matched').waitFor();
    expect(await page.textContent('.simulation')).toContain('45');
    // The draft was simulated as it is, unsaved: no rule exists until Save and activate.
    expect((await acme.request('GET', `/v1/rules?program_id=${programId}`)).json().data).toHaveLength(0);
    await page.fill(
      '#f-actions',
      JSON.stringify([{ type: 'CREDIT', asset_id: assetId, amount: 'event.amount *' }]),
    );
    await page.getByRole('button', { name: 'Simulate' }).click();
    await page.locator('.field:has(#f-actions) .field-error').waitFor();
    await page.fill(
      '#f-actions',
      JSON.stringify([{ type: 'CREDIT', asset_id: assetId, amount: 'round(event.amount * 10.0, 2)' }]),
    );
    await page.getByText('Valid.').waitFor();
    await page.getByRole('button', { name: 'Save and activate' }).click();
    await page.locator('.status-active').first().waitFor();
    const rules = (await acme.request('GET', `/v1/rules?program_id=${programId}`)).json().data;
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ name: 'Ten beans per euro', status: 'ACTIVE' });
    const history = (await acme.request('GET', `/v1/rules/${rules[0].id}/history`)).json().data;
    // Simulating saved nothing: the rule's only version is its creation, already ACTIVE.
    expect(history.map((version: { change_type: string }) => version.change_type)).toEqual(['created']);
  });

  it("edits a rule's budgets and shows their consumption", async () => {
    const rule = (await acme.request('GET', `/v1/rules?program_id=${programId}`)).json().data[0];
    await page.goto(`${origin}/console/#/rules/${rule.id}`);
    const card = page.locator('.card:has(h2:text("Budgets"))');
    await card.getByRole('button', { name: 'Edit budgets' }).click();
    await card.getByRole('button', { name: 'Add a budget' }).click();
    await page.fill('[id="f-budgets[0].limit"]', '1000.001');
    await card.getByRole('button', { name: 'Save budgets' }).click();
    await card.locator('.field:has([id="f-budgets[0].limit"]) .field-error').waitFor();
    await page.fill('[id="f-budgets[0].limit"]', '1000');
    await card.getByRole('button', { name: 'Save budgets' }).click();
    await card.getByText('0.00 / 1000.00').waitFor();
    const budgets = (await acme.request('GET', `/v1/rules/${rule.id}`)).json().budgets;
    expect(budgets).toMatchObject([{ asset_id: assetId, limit: '1000.00', consumed: '0.00' }]);
  });

  it('shows an event sent through the API in the live list', async () => {
    await page.goto(`${origin}/console/#/events`);
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    const accepted = await sendEvent('order-1', { type: 'purchase', amount: 2.5 });
    await waitForStatus(accepted.id, 'COMPLETED');
    await page.locator(`a[href="#/events/${accepted.id}"]`).waitFor({ timeout: 10_000 });
    await page.locator(`a[href="#/events/${accepted.id}"]`).click();
    await page.getByText('Ten beans per euro').first().waitFor();
    expect(await page.textContent('main')).toContain('25.00 BEAN');
  });

  it('finds a participant by email and reads the timeline with the rule evaluations', async () => {
    await page.goto(`${origin}/console/#/participants`);
    await page.fill('input[name=search]', 'ana@exa');
    await page.press('input[name=search]', 'Enter');
    await page.getByRole('link', { name: 'ana', exact: true }).click();
    await page.getByRole('heading', { name: 'Activity' }).waitFor();
    await page.locator('.kind-entry').first().waitFor();
    expect(await page.textContent('.timeline')).toContain('25.00 BEAN');
    await page.getByRole('button', { name: 'Rule evaluations' }).first().click();
    await page.locator('.timeline').getByText('Ten beans per euro').waitFor();
    expect(await page.textContent('.card:has(h2:text("Balances"))')).toContain('25.00');
    expect(await page.textContent('.card:has(h2:text("Lots"))')).toContain('SIMPLE asset');
    expect(await page.textContent('.timeline')).toContain('→');
    expect(await page.locator('[role=alert]').count()).toBe(0);
  });

  it('retries a FAILED event, which then completes', async () => {
    const spend = await post('/v1/rules', {
      program_id: programId,
      name: 'Spend beans',
      condition: 'event.type == "spend"',
      actions: [{ type: 'DEBIT', asset_id: assetId, amount: '100.0' }],
    });
    expect(spend.status).toBe('ACTIVE');
    const accepted = await sendEvent('spend-1', { type: 'spend' });
    await waitForStatus(accepted.id, 'FAILED');
    const participant = (await acme.request('GET', '/v1/participants?external_id=ana')).json().data[0];
    await post(`/v1/participants/${participant.id}/balances/adjust`, {
      program_id: programId,
      asset_id: assetId,
      type: 'CREDIT',
      amount: '100.00',
      description: 'enough to spend',
    });
    await page.goto(`${origin}/console/#/events?status=FAILED`);
    await page.locator(`a[href="#/events/${accepted.id}"]`).click();
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('button', { name: 'Yes, retry' }).click();
    await waitForStatus(accepted.id, 'COMPLETED');
  });

  it('reverses part of a redemption, then the rest, each after confirmation with the reason typed', async () => {
    const participant = (await acme.request('GET', '/v1/participants?external_id=ana')).json().data[0];
    const redemption = await post(`/v1/participants/${participant.id}/redemptions`, {
      program_id: programId,
      asset_id: assetId,
      amount: '5.00',
      description: 'mug',
    });
    await page.goto(`${origin}/console/#/participants/${participant.id}`);
    const card = page.locator('.card:has(h2:text("Redemptions"))');
    await card.getByText('mug').waitFor();
    await card.getByLabel('Amount to reverse').fill('5.01');
    await card.getByLabel('Reason for the reversal').fill('handle chipped');
    await card.getByRole('button', { name: 'Reverse' }).click();
    await card.getByRole('button', { name: 'Yes, reverse' }).click();
    await card.locator('.reverse .field-error').waitFor();
    await card.getByRole('button', { name: 'Cancel' }).click();
    await card.getByLabel('Amount to reverse').fill('2.00');
    await card.getByRole('button', { name: 'Reverse' }).click();
    expect(await card.locator('dialog[open]').textContent()).toContain('Reverse 2.00 of this redemption');
    await card.getByRole('button', { name: 'Yes, reverse' }).click();
    await card.locator('.status-partially_reversed').waitFor();
    await card.getByLabel('Reason for the reversal').fill('mug broken');
    await card.getByRole('button', { name: 'Reverse' }).click();
    await card.getByRole('button', { name: 'Yes, reverse' }).click();
    await card.locator('.status-fully_reversed').waitFor();
    const reversals = (await acme.request('GET', `/v1/redemptions/${redemption.id}/reversals`)).json().data;
    expect(reversals.map((r: { reason: string; amount: string }) => [r.reason, r.amount]).sort()).toEqual([
      ['handle chipped', '2.00'],
      ['mug broken', '3.00'],
    ]);
  });

  it('edits a tier: a level renamed and requalified, and a level added, through the API', async () => {
    await post(`/v1/programs/${programId}/tiers`, {
      key: 'status',
      levels: [{ key: 'member', rank: 0 }],
    });
    await page.goto(`${origin}/console/#/tiers`);
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    await page.fill('#f-display_name', 'Status');
    await page.getByRole('button', { name: 'Add a level' }).click();
    await page.fill('[id="f-levels[1].key"]', 'gold');
    await page.fill('[id="f-levels[1].display_name"]', 'Gold');
    await page.fill('[id="f-levels[1].qualification"]', 'spend >= lots');
    await page.getByRole('button', { name: 'Save the tier' }).click();
    await page.locator('.field:has([id="f-levels[1].qualification"]) .field-error').waitFor();
    await page.fill('[id="f-levels[1].qualification"]', 'spend >= 100, visits > 2');
    await page.getByRole('button', { name: 'Save the tier' }).click();
    await page.getByText('all of: spend >= 100, visits > 2').waitFor();
    const tier = (await acme.request('GET', `/v1/programs/${programId}/tiers/status`)).json();
    expect(tier.display_name).toBe('Status');
    expect(tier.levels).toMatchObject([
      { key: 'member', rank: 0 },
      {
        key: 'gold',
        rank: 1,
        display_name: 'Gold',
        qualification: {
          mode: 'ALL',
          criteria: [
            { counter: 'spend', operator: '>=', threshold: 100 },
            { counter: 'visits', operator: '>', threshold: 2 },
          ],
        },
      },
    ]);
  });

  it('creates an automation, triggers it after confirmation and shows the run complete', async () => {
    await page.goto(`${origin}/console/#/automations`);
    await page.getByText('No automation yet').waitFor();
    await page.getByRole('button', { name: 'New automation' }).click();
    await page.fill('#f-name', 'Monthly statement');
    await page.fill('#f-event_name', 'statement');
    await page.fill('[id="f-trigger.cron_expression"]', 'not a cron');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('.field:has([id="f-trigger.cron_expression"]) .field-error').waitFor();
    await page.fill('[id="f-trigger.cron_expression"]', '0 9 1 * *');
    await page.getByRole('button', { name: 'Create' }).click();
    const row = page.locator('tr:has-text("Monthly statement")');
    await row.locator('.status-idle').waitFor();
    await row.getByRole('button', { name: 'Trigger' }).click();
    await row.getByRole('button', { name: 'Yes, trigger' }).click();
    await row.locator('.status-completed').waitFor({ timeout: 20_000 });
    expect(await row.textContent()).toContain('1 / 1');
    const automations = (await acme.request('GET', `/v1/programs/${programId}/automations`)).json().data;
    expect(automations).toMatchObject([
      { name: 'Monthly statement', trigger_type: 'cron', scope: 'participants', participants_processed: 1 },
    ]);
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.getByRole('button', { name: 'Yes, pause' }).click();
    await row.locator('.status-paused').waitFor();
    await row.getByRole('button', { name: 'Archive' }).click();
    await row.getByRole('button', { name: 'Yes, archive' }).click();
    await page.getByText('No automation yet').waitFor();
    const archived = (
      await acme.request('GET', `/v1/programs/${programId}/automations?status=archived`)
    ).json();
    expect(archived.data).toMatchObject([{ name: 'Monthly statement', status: 'archived' }]);
  });

  it("downloads the liability report and the journal as the server's CSV", async () => {
    await page.goto(`${origin}/console/#/ledger`);
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const card = page.locator('.card:has(h2:text("Liability"))');
    await card.getByText('BEAN').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      card.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('liability.csv');
    expect(
      requested.some((url) => url.includes('/v1/reports/liability?') && url.includes('format=csv')),
    ).toBe(true);
    const csv = await readFile(await download.path(), 'utf8');
    const [header, row] = csv.trim().split('\r\n');
    expect(header).toContain('asset_symbol');
    expect(header).toContain('balance');
    expect(row).toContain('BEAN');
    const journal = page.locator('.card:has(h2:text("Journal"))');
    const [entries] = await Promise.all([
      page.waitForEvent('download'),
      journal.getByRole('button', { name: /Download CSV/ }).click(),
    ]);
    expect(entries.suggestedFilename()).toBe('journal-entries.csv');
    const lines = (await readFile(await entries.path(), 'utf8')).trim().split('\r\n');
    expect(lines[0]).toMatch(/^journal_entry_id,created_at,/);
    const server = await acme.request('GET', `/v1/journal-entries?program_id=${programId}&format=csv`);
    expect(lines.length).toBe(server.body.trim().split('\r\n').length);
    await page.getByRole('button', { name: 'Run the integrity check' }).click();
    await page.locator('.status-passed').waitFor();
  });

  it('signs in with the keyboard alone and fits a 390 px wide screen without sideways scrolling', async () => {
    const narrow = await browser.newPage({ viewport: { width: 390, height: 800 } });
    // Shorter than the test's own timeout, so that a failure names the step that waited.
    narrow.setDefaultTimeout(15_000);
    try {
      await narrow.goto(`${origin}/console/`);
      // The form's autofocus is applied at the page's next rendering, which can come after goto
      // resolves on a loaded machine: keys typed before it would go nowhere.
      await narrow.locator('#f-key:focus').waitFor();
      await narrow.keyboard.type(acme.key);
      await narrow.keyboard.press('Enter');
      await narrow.locator('.figure').first().waitFor();
      await narrow.keyboard.press('Tab');
      expect(await narrow.evaluate('document.activeElement.textContent')).toBe('Accrue');
      const participant = (await acme.request('GET', '/v1/participants?external_id=ana')).json().data[0];
      for (const hash of [
        '#/overview',
        `#/participants/${participant.id}`,
        '#/events',
        '#/ledger',
        '#/tiers',
        '#/automations',
      ]) {
        await narrow.goto(`${origin}/console/${hash}`);
        await narrow.locator('main h1').first().waitFor();
        // The page's data is in once nothing says Loading… (network idle never comes on a page that
        // polls while a loaded machine answers slowly).
        await narrow.waitForFunction("!document.body.innerText.includes('Loading…')");
        expect(await narrow.evaluate('document.documentElement.scrollWidth'), hash).toBeLessThanOrEqual(390);
      }
      for (const [hash, button] of [
        ['#/tiers', 'Edit'],
        ['#/automations', 'New automation'],
      ]) {
        await narrow.goto(`${origin}/console/${hash}`);
        await narrow.getByRole('button', { name: button, exact: true }).click();
        await narrow.locator('form.card').waitFor();
        const width = await narrow.evaluate('document.documentElement.scrollWidth');
        expect(width, `${hash} ${button}`).toBeLessThanOrEqual(390);
      }
    } finally {
      await narrow.close();
    }
  });
});
