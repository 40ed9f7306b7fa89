import { type Static, Type } from 'typebox';
import { ListQueryFields, SortDir, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { logPageSizeMax, pageSizeDefault } from '../../platform/limits.js';

const logFields = {
  id: Uuid,
  request_id: Type.String(),
  method: Type.String(),
  path: Type.String(),
  route_pattern: Type.String(),
  status_code: Type.Integer(),
  duration_ms: Type.Number(),
  auth_type: Type.String(),
  error_code: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
};

export const RequestLog = Type.Object(logFields, {
  $id: 'RequestLog',
  examples: [
    {
      id: '01a24348-744a-7000-88b4-32245d68a4a7',
      request_id: 'req_21c8c8aa28c048168f8268778d31547f',
      method: 'GET',
      path: '/v1/webhook-endpoints',
      route_pattern: '/v1/webhook-endpoints',
      status_code: 200,
      duration_ms: 91.411,
      auth_type: 'api_key',
      error_code: null,
      created_at: '2026-12-04T22:59:11.562Z',
    },
  ],
  description: 'A request log',
});
export type RequestLog = Static<typeof RequestLog>;

export const RequestLogDetail = Type.Object(
  {
    ...logFields,
    created_by_api_key_id: Type.Union([Uuid, Type.Null()]),
    ip_address: Type.Union([Type.String(), Type.Null()]),
    user_agent: Type.Union([Type.String(), Type.Null()]),
    request_body: Type.Union([Type.String(), Type.Null()], {
      description: 'Redacted of secrets, at most 4 KiB',
    }),
    response_body: Type.Union([Type.String(), Type.Null()], {
      description: 'Redacted of secrets, at most 4 KiB',
    }),
  },
  {
    $id: 'RequestLogDetail',
    examples: [
      {
        id: '01a24348-744a-7000-88b4-32245d68a4a7',
        request_id: 'req_21c8c8aa28c048168f8268778d31547f',
        method: 'GET',
        path: '/v1/webhook-endpoints',
        route_pattern: '/v1/webhook-endpoints',
        status_code: 200,
        duration_ms: 91.411,
        auth_type: 'api_key',
        error_code: null,
        created_at: '2026-12-04T22:59:11.562Z',
        created_by_api_key_id: '01a24348-4edd-7000-816f-e4a186709086',
        ip_address: '127.0.0.1',
        user_agent: 'lightMyRequest',
        request_body: null,
        response_body:
          '{"data":[{"id":"01a24348-6cf6-7000-85c2-62b93835088e","url":"https://hooks.example.com/accrue","description":"Order service","enabled_events":["balance.credited","redemption.completed","participant.tier_changed"],"metadata":null,"status":"ACTIVE","created_at":"2026-12-04T22:59:09.686Z","updated_at":"2026-12-04T22:59:09.734Z"}],"pagination":{"has_more":false,"next_cursor":null}}',
      },
    ],
    description: 'A request log with its redacted bodies',
  },
);
export type RequestLogDetail = Static<typeof RequestLogDetail>;

export const ListLogsQuery = Type.Object(
  {
    ...ListQueryFields,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: logPageSizeMax, default: pageSizeDefault })),
    method: Type.Optional(Type.Enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])),
    route_pattern: Type.Optional(Type.String({ maxLength: 255, description: 'e.g. /v1/participants/{id}' })),
    request_id: Type.Optional(Type.String({ maxLength: 64, description: 'With or without the req_ prefix' })),
    auth_type: Type.Optional(Type.Enum(['api_key', 'jwt'])),
    status_min: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
    status_max: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    sort_by: Type.Optional(
      Type.Enum(['created_at', 'duration_ms', 'status_code'], { default: 'created_at' }),
    ),
    sort_dir: Type.Optional(SortDir),
  },
  { additionalProperties: false },
);
export type ListLogsQuery = Static<typeof ListLogsQuery>;

export const UsageQuery = Type.Object(
  { from: Type.Optional(Timestamp), to: Type.Optional(Timestamp) },
  { additionalProperties: false },
);
export type UsageQuery = Static<typeof UsageQuery>;

export const Usage = Type.Object(
  {
    from: Timestamp,
    to: Timestamp,
    data: Type.Array(
      Type.Object({
        date: Type.String({ description: 'UTC day, YYYY-MM-DD' }),
        request_count: Type.Integer(),
        error_count: Type.Integer({ description: 'Responses with status 400 or above' }),
        average_latency_ms: Type.Number(),
      }),
    ),
  },
  {
    $id: 'Usage',
    examples: [
      {
        from: '2026-11-04T22:59:11.752Z',
        to: '2026-12-04T22:59:11.752Z',
        data: [{ date: '2026-12-04', request_count: 62, error_count: 0, average_latency_ms: 33.875 }],
      },
    ],
    description: 'API usage per UTC day',
  },
);
export type Usage = Static<typeof Usage>;
