import { expect, it } from 'vitest';
import { buildTestApp } from '../../../test/harness.js';

it('documents the asset, balance, wallet, journal and report routes with their error codes', async () => {
  const t = await buildTestApp();
  const response = await t.app.inject({ method: 'GET', url: '/openapi.json' });
  expect(response.statusCode).toBe(200);
  const doc = response.json();
  for (const path of [
    '/v1/assets',
    '/v1/programs/{programId}/assets/{assetId}',
    '/v1/participants/{id}/balances/adjust',
    '/v1/participants/{id}/balances/void-hold',
    '/v1/participants/{id}/statement',
    '/v1/programs/{id}/assets/{assetId}/fund',
    '/v1/journal-entries/{id}',
    '/v1/reports/integrity',
    '/v1/reports/liability-rollforward',
  ]) {
    expect(doc.paths[path], path).toBeDefined();
  }
  const adjust = doc.paths['/v1/participants/{id}/balances/adjust'].post.responses;
  expect(adjust['422'].description).toMatch(/insufficient_balance/);
  expect(adjust['400'].description).toMatch(/invalid_scale/);
});
