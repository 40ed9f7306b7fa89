// The console's files: the landing page, the app, the vendored libraries and nothing else.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../test/harness.js';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});

describe('console files', () => {
  it('/ is a landing page that links the console, the API reference, health and the version', async () => {
    const response = await t.app.inject({ url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
    for (const href of ['/console/', '/docs', '/healthz', '/openapi.json'])
      expect(response.body).toContain(`href="${href}"`);
    expect(response.body).toContain('version test');
  });

  it('/console redirects to /console/, which serves the app without a key', async () => {
    const redirect = await t.app.inject({ url: '/console' });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('/console/');
    const index = await t.app.inject({ url: '/console/' });
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain('<script type="module" src="/console/app.js">');
    const app = await t.app.inject({ url: '/console/pages/rules.js' });
    expect(app.statusCode).toBe(200);
    expect(app.headers['content-type']).toContain('javascript');
  });

  it('serves the libraries the import map names from node_modules, as JavaScript', async () => {
    for (const name of ['preact.js', 'preact-hooks.js', 'htm.js', 'uplot.js']) {
      const response = await t.app.inject({ url: `/console/vendor/${name}` });
      expect(response.statusCode, name).toBe(200);
      expect(response.headers['content-type']).toContain('text/javascript');
      expect(response.body.length).toBeGreaterThan(1000);
    }
    const css = await t.app.inject({ url: '/console/vendor/uplot.css' });
    expect(css.headers['content-type']).toContain('text/css');
  });

  it('answers 404 for any other vendor name and for paths out of the console folder', async () => {
    for (const url of [
      '/console/vendor/package.json',
      '/console/vendor/..%2F..%2Fpackage.json',
      '/console/../../package.json',
      '/console/%2e%2e/serve-console.ts',
      '/console/nothing.js',
    ]) {
      const response = await t.app.inject({ url });
      expect(response.statusCode, url).toBe(404);
      expect(response.body).not.toContain('"name": "accrue"');
    }
  });

  it('keeps the console and the landing page out of the OpenAPI document', async () => {
    const paths = Object.keys((await t.app.inject({ url: '/openapi.json' })).json().paths);
    expect(paths.filter((path) => path === '/' || path.startsWith('/console'))).toEqual([]);
  });
});
