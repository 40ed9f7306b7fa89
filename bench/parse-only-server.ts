// The HTTP ceiling: Fastify parsing a JSON body and answering, nothing else.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/parse', async (request) => ({
  received: Array.isArray((request.body as { events?: unknown[] }).events),
}));
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
