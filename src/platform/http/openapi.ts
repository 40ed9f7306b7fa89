// The OpenAPI 3.1 document is generated from the route schemas, the same ones that validate
// requests and serialize responses. /docs serves a browsable reference of it.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { documentReadOnlyRefusal } from './read-only.js';
import { ErrorBody } from './schemas.js';

export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  app.addSchema(ErrorBody);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Accrue API',
        version,
        description:
          'Self-hosted rewards engine. Compatible with the Scrip v1 API: programs, assets, participants, ' +
          'events, rules and a double-entry ledger.',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      servers: [{ url: '/', description: 'The Accrue server that serves this document' }],
      components: {
        securitySchemes: {
          ApiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          BearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer sk_...' },
        },
      },
      security: [{ ApiKeyHeader: [] }, { BearerAuth: [] }],
    },
    transform: documentReadOnlyRefusal as never,
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
