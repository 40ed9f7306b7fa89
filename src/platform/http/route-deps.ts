import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';

/** What every route plugin is given: the database and the clock. */
export interface RouteDeps {
  db: Database;
  clock: Clock;
}

export type RoutePlugin<Deps extends RouteDeps = RouteDeps> = FastifyPluginAsyncTypebox<Deps>;
