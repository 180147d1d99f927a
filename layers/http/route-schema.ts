// A route's fastify schema, which is also its OpenAPI operation: every problem status it can answer is derived here.
import type { TSchema } from '@sinclair/typebox';
import type { FastifySchema } from 'fastify';
import { Problem, PROBLEM_CONTENT_TYPE } from '../problems';
import type { AnyRoute } from './route';

/** The documented problem statuses of a route, derived from what it declares. */
export function problemStatuses(spec: AnyRoute): number[] {
  const statuses = new Set(spec.errors ?? []);
  const { body, querystring, params } = spec.schema;
  if (body || querystring || params) statuses.add(400);
  if (body) {
    statuses.add(413);
    statuses.add(415);
  }
  if (spec.auth === 'required') statuses.add(401);
  if (spec.database !== false) statuses.add(503);
  return [...statuses].sort((a, b) => a - b);
}

/** The fastify schema of a route; a protected one names the service's security scheme. */
export function routeSchema(spec: AnyRoute, securityScheme?: string): FastifySchema & Record<string, unknown> {
  const response: Record<number, unknown> = { ...spec.schema.response };
  for (const status of problemStatuses(spec)) {
    response[status] ??= { description: problemDescription(status), content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } } };
  }
  return {
    summary: spec.summary,
    description: spec.description,
    tags: spec.tags,
    security: spec.auth === 'required' && securityScheme ? [{ [securityScheme]: [] }] : [],
    ...(spec.schema.body ? { body: spec.schema.body } : {}),
    ...(spec.forms ? { consumes: ['application/x-www-form-urlencoded', 'application/json'] } : {}),
    ...(spec.schema.querystring ? { querystring: withOptionalDefaults(spec.schema.querystring) } : {}),
    ...(spec.schema.params ? { params: spec.schema.params } : {}),
    response,
  };
}

/** A parameter with a default may be left out (ajv fills it in), so it is not required, in validation nor in /openapi.json. */
function withOptionalDefaults(schema: TSchema): TSchema {
  const properties = (schema.properties ?? {}) as Record<string, { default?: unknown }>;
  const required = ((schema.required ?? []) as string[]).filter((name) => properties[name]?.default === undefined);
  return { ...schema, required };
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request: the detail names the field',
  401: 'Missing, malformed, expired or revoked credentials',
  403: 'Authenticated, but not allowed to do this',
  404: 'No such resource',
  409: 'Conflicts with an existing resource',
  413: 'Request body too large',
  415: 'Unsupported content type, or none',
  429: 'Too many requests: a limit of the ingress or of the service itself (the detail says which) was reached; see Retry-After',
  503: 'A dependency (database or upstream) is unavailable, or the service is not configured',
  504: 'A dependency did not answer in time',
};

function problemDescription(status: number): string {
  return DESCRIPTIONS[status] ?? 'Problem';
}
