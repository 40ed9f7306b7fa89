// The operator console: a browser app under /console that talks only to the public /v1 API with
// the key its user signs in with. No build step: its ES modules are served as written, and the
// libraries it imports (Preact, htm, uPlot) are served from node_modules, so `npm ci && npm start`
// is all it needs. `/` is a landing page that links the console, the API reference and health.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const publicDir = fileURLToPath(new URL('./public/', import.meta.url));
const require = createRequire(import.meta.url);

/** The only files of node_modules the console may be served: name in the URL -> file. */
function vendorFiles(): Map<string, { file: string; type: string }> {
  const preactDist = path.dirname(require.resolve('preact'));
  const javascript = 'text/javascript; charset=utf-8';
  return new Map([
    ['preact.js', { file: path.join(preactDist, 'preact.module.js'), type: javascript }],
    [
      'preact-hooks.js',
      { file: path.join(path.dirname(require.resolve('preact/hooks')), 'hooks.module.js'), type: javascript },
    ],
    ['htm.js', { file: path.join(path.dirname(require.resolve('htm')), 'htm.module.js'), type: javascript }],
    [
      'uplot.js',
      { file: path.join(path.dirname(require.resolve('uplot')), 'uPlot.iife.min.js'), type: javascript },
    ],
    [
      'uplot.css',
      {
        file: path.join(path.dirname(require.resolve('uplot')), 'uPlot.min.css'),
        type: 'text/css; charset=utf-8',
      },
    ],
  ]);
}

export async function registerConsole(app: FastifyInstance, version: string): Promise<void> {
  const landing = readFileSync(path.join(publicDir, 'landing.html'), 'utf8').replaceAll('%VERSION%', version);
  const vendor = new Map(
    [...vendorFiles()].map(([name, { file, type }]) => [name, { body: readFileSync(file), type }]),
  );
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(landing),
  );
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/'));
  app.get<{ Params: { name: string } }>(
    '/console/vendor/:name',
    { schema: { hide: true } },
    async (request, reply) => {
      const file = vendor.get(request.params.name);
      if (file === undefined) return reply.status(404).send({ code: 'not_found', message: 'no such file' });
      return reply.type(file.type).header('Cache-Control', 'public, max-age=3600').send(file.body);
    },
  );
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, {
      root: publicDir,
      prefix: '/console/',
      decorateReply: false,
      index: ['index.html'],
      cacheControl: true,
      maxAge: 0,
      schemaHide: true,
    });
  });
}
