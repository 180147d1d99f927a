// The fastify app factory: each Lambda handler is a tiny fastify app built from one route spec.
import { randomUUID } from 'node:crypto';
import awsLambdaFastify from '@fastify/aws-lambda';
import formBody from '@fastify/formbody';
import type { Static, TSchema } from '@sinclair/typebox';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema } from 'fastify';
import { authenticate, type CurrentUser } from '../auth/current-user';
import { ConfigError } from '../config';
import { isDatabaseUnavailable } from '../db/availability';
import { HttpProblem, Problem, PROBLEM_CONTENT_TYPE, problemBody } from './errors';
import { requestLogger, type RequestLogger } from './logger';

type Maybe<S> = S extends TSchema ? Static<S> : undefined;
export type AuthMode = 'required' | 'none';

export interface RouteSchema {
  body?: TSchema;
  querystring?: TSchema;
  params?: TSchema;
  response: Record<number, TSchema>;
}

export interface RouteContext<S extends RouteSchema, A extends AuthMode> {
  body: Maybe<S['body']>;
  query: Maybe<S['querystring']>;
  params: Maybe<S['params']>;
  user: A extends 'required' ? CurrentUser : undefined;
  headers: FastifyRequest['headers'];
  log: RequestLogger;
  reply: FastifyReply;
}

export interface RouteSpec<S extends RouteSchema = RouteSchema, A extends AuthMode = AuthMode> {
  method: 'GET' | 'POST' | 'DELETE';
  /** fastify path syntax: /user/:user_id */
  url: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: A;
  schema: S;
  /** Status of a successful answer (default 200). */
  status?: number;
  /** Problem statuses this operation can answer beyond the ones derived from the spec. */
  errors?: number[];
  /** Also accept application/x-www-form-urlencoded bodies. */
  forms?: boolean;
  /** Whether the handler touches the database (adds 503 to the documented answers). Default true. */
  database?: boolean;
  handle(ctx: RouteContext<S, A>): Promise<unknown>;
}

/** Typed identity: lets a route file declare its spec with inferred body/query/params types. */
export function route<S extends RouteSchema, A extends AuthMode>(spec: RouteSpec<S, A>): RouteSpec<S, A> {
  return spec;
}

// Bodies are validated strictly (a number where a string is expected is a 400); query strings and path
// parameters are text by nature, so they are coerced ("limit=10" becomes 10). Compiled once per process.
// verbose: errors carry their schema, so a failed pattern is explained by its description, not by the regex.
const ajvOptions = { allErrors: false, removeAdditional: false, useDefaults: true, allowUnionTypes: true, verbose: true } as const;
const strictAjv = addFormats(new Ajv({ ...ajvOptions, coerceTypes: false }));
const coercingAjv = addFormats(new Ajv({ ...ajvOptions, coerceTypes: true }));
for (const ajv of [strictAjv, coercingAjv]) ajv.addKeyword('example');

/**
 * Ajv coerces "1e400" to Infinity and then skips minimum/maximum (they only judge finite numbers), so `limit=1e400`
 * would reach SQL: text parts (query, params) are refused when a value coerced to a non-finite number.
 */
function finiteOnly(validate: ValidateFunction): ValidateFunction {
  const check = ((data: unknown) => {
    const valid = validate(data);
    check.errors = validate.errors;
    if (!valid || !data || typeof data !== 'object') return valid;
    const key = Object.keys(data).find((k) => typeof (data as Record<string, unknown>)[k] === 'number' && !Number.isFinite((data as Record<string, number>)[k]));
    if (key === undefined) return true;
    check.errors = [{ instancePath: `/${key}`, schemaPath: '#/type', keyword: 'type', params: {}, message: 'must be a finite number' }];
    return false;
  }) as ValidateFunction;
  return check;
}

/** The documented problem statuses of a route, derived from what it declares. */
export function problemStatuses(spec: RouteSpec): number[] {
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

function fastifySchema(spec: RouteSpec): FastifySchema & Record<string, unknown> {
  const response: Record<number, unknown> = { ...spec.schema.response };
  for (const status of problemStatuses(spec)) {
    response[status] ??= { description: problemDescription(status), content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } } };
  }
  return {
    summary: spec.summary,
    description: spec.description,
    tags: spec.tags,
    security: spec.auth === 'required' ? [{ OAuth2PasswordBearer: [] }] : [],
    ...(spec.schema.body ? { body: spec.schema.body } : {}),
    ...(spec.forms ? { consumes: ['application/x-www-form-urlencoded', 'application/json'] } : {}),
    ...(spec.schema.querystring ? { querystring: spec.schema.querystring } : {}),
    ...(spec.schema.params ? { params: spec.schema.params } : {}),
    response,
  };
}

function problemDescription(status: number): string {
  const text: Record<number, string> = {
    400: 'Malformed request: the detail names the field',
    401: 'Missing, malformed, expired or revoked credentials',
    403: 'Authenticated, but not allowed to do this',
    404: 'No such resource',
    409: 'Conflicts with an existing resource',
    413: 'Request body too large',
    415: 'Unsupported content type',
    429: 'Rate limit reached at the ingress; see Retry-After',
    503: 'A dependency (database or upstream) is unavailable',
    504: 'A dependency did not answer in time',
  };
  return text[status] ?? 'Problem';
}

/** Maps any error to the status, detail and headers of its problem+json answer. */
export function toProblem(err: unknown): HttpProblem {
  if (err instanceof HttpProblem) return err;
  const e = err as { validation?: unknown; validationContext?: string; statusCode?: number; message?: string; code?: string };
  if (e.validation) return new HttpProblem(400, validationDetail(e.validation, e.validationContext) ?? e.message ?? 'invalid request');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new HttpProblem(e.statusCode, clientErrorDetail(e.code, e.message));
  }
  if (isDatabaseUnavailable(err)) return new HttpProblem(503, 'the database is unavailable, try again shortly');
  if (err instanceof ConfigError) return new HttpProblem(503, 'the service is not configured; the operator has been told in the logs');
  return new HttpProblem(500, 'internal error');
}

interface ValidationIssue {
  keyword?: string;
  instancePath?: string;
  parentSchema?: { description?: unknown };
}

/** "body/username is invalid: 3 to 32 characters of …" instead of the raw regular expression. */
function validationDetail(issues: unknown, context: string | undefined): string | undefined {
  const [first] = Array.isArray(issues) ? (issues as ValidationIssue[]) : [];
  const description = first?.parentSchema?.description;
  if (first?.keyword !== 'pattern' || typeof description !== 'string') return undefined;
  return `${context ?? 'request'}${first.instancePath ?? ''} is invalid: ${description}`;
}

function clientErrorDetail(code: string | undefined, message: string | undefined): string {
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'unsupported content type';
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'the JSON body is empty';
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'the request body is too large';
  return message ?? 'bad request';
}

export interface AppOptions {
  /** Called with the app before routes are added (docs plugins). */
  setup?: (app: FastifyInstance) => Promise<void> | void;
  /** The answer for a request no route matches (default 404). */
  notFound?: (method: string, path: string) => HttpProblem;
}

/** The largest request body a function reads (HAProxy's MAX_BODY_BYTES refuses larger ones at the edge). */
const BODY_LIMIT_BYTES = 64 * 1024;

const defaultNotFound = (method: string, path: string) => new HttpProblem(404, `no route for ${method} ${path}`);

/** Builds one fastify app serving the given routes, with the shared error model and logger. */
export async function buildApp(specs: RouteSpec[], options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: (req) => headerValue(req.headers['x-request-id']) || randomUUID(),
    // Long path parameters reach the route schema (400 problem+json) instead of fastify's own plain 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    // The router's own refusals (a broken %-escape, an overlong parameter) bypass the error handler: answer them here.
    frameworkErrors: (err, request, reply) => {
      reply.header('x-request-id', request.id);
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      return sendProblem(reply, new HttpProblem(tooLong ? 414 : 400, tooLong ? 'a path parameter is too long' : 'the URL is malformed'), request.id);
    },
  });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strictAjv.compile(schema) : finiteOnly(coercingAjv.compile(schema))));
  if (specs.some((s) => s.forms)) await app.register(formBody, { bodyLimit: BODY_LIMIT_BYTES });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.setErrorHandler((err, request, reply) => {
    const problem = toProblem(err);
    const log = requestLogger(request.id);
    if (problem.status >= 500) {
      log.error('request failed', { status: problem.status, error: (err as Error).name, code: (err as { code?: string }).code, reason: (err as Error).message });
    }
    return sendProblem(reply, problem, request.id);
  });
  const notFound = options.notFound ?? defaultNotFound;
  app.setNotFoundHandler((request, reply) => sendProblem(reply, notFound(request.method, request.url.split('?')[0]), request.id));
  await options.setup?.(app);
  for (const spec of specs) addRoute(app, spec);
  return app;
}

function sendProblem(reply: FastifyReply, problem: HttpProblem, requestId: string) {
  return reply
    .code(problem.status)
    .headers(problem.headers)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problemBody(problem.status, problem.detail, requestId));
}

// serverless-offline passes this constant as the API Gateway request id: not an id worth keeping.
const OFFLINE_PLACEHOLDER = 'offlineContext_';

function headerValue(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v && /^[\w.:-]{1,128}$/.test(v) && !v.startsWith(OFFLINE_PLACEHOLDER) ? v : undefined;
}

function addRoute(app: FastifyInstance, spec: RouteSpec) {
  app.route({
    method: spec.method,
    url: spec.url,
    schema: fastifySchema(spec),
    handler: async (request, reply) => {
      const log = requestLogger(request.id);
      const user = spec.auth === 'required' ? await authenticate(request.headers.authorization) : undefined;
      const result = await spec.handle({
        body: request.body,
        query: request.query,
        params: request.params,
        user,
        headers: request.headers,
        log,
        reply,
      } as RouteContext<RouteSchema, AuthMode>);
      if (reply.sent) return reply;
      reply.code(reply.statusCode !== 200 ? reply.statusCode : (spec.status ?? 200));
      return result === undefined ? reply.send() : result;
    },
  });
}

/** An API Gateway (REST v1 or HTTP API v2) proxy handler. */
export type LambdaHandler = (
  event: APIGatewayProxyEvent | APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResult | APIGatewayProxyStructuredResultV2>;

/** Turns route specs into an API Gateway (v1 or v2) Lambda handler. The app is built once per process. */
export function lambda(specs: RouteSpec | RouteSpec[], options: AppOptions = {}): LambdaHandler {
  let proxy: Promise<LambdaHandler> | undefined;
  const init = async () => {
    const app = await buildApp(Array.isArray(specs) ? specs : [specs], options);
    const handle = awsLambdaFastify(app, {
      binaryMimeTypes: ['image/png', 'image/x-icon', 'application/octet-stream'],
      // Its comma splitting runs decodeURIComponent on raw keys and throws on a broken %-escape (a 502); no route takes lists.
      parseCommaSeparatedQueryParams: false,
    });
    await app.ready();
    return handle as unknown as LambdaHandler;
  };
  return (event, context) => {
    proxy ??= init().catch((err) => {
      proxy = undefined;
      throw err;
    });
    return proxy.then((handle) => handle(withTextBody(event), context)).catch((err: unknown) => failedInvocation(err, event));
  };
}

/** serverless-offline passes a JSON body of `false` or `0` on as that value, not as text; the adapter would throw on it. */
function withTextBody<E extends { body?: unknown }>(event: E): E {
  const body = event.body as unknown;
  return body === undefined || body === null || typeof body === 'string' ? event : { ...event, body: JSON.stringify(body) };
}

/**
 * A failed invocation would reach the client as the runtime's error document (serverless-offline: HTTP 200 with
 * the stack trace), so whatever escapes the app (building it included) is answered here as problem+json.
 */
function failedInvocation(err: unknown, event: { headers?: Record<string, string | undefined> }): APIGatewayProxyStructuredResultV2 {
  const requestId = headerValue(event.headers?.['x-request-id']) ?? randomUUID();
  const problem = toProblem(err);
  requestLogger(requestId).error('invocation failed', { status: problem.status, error: (err as Error)?.name, reason: (err as Error)?.message });
  return {
    statusCode: problem.status,
    headers: { ...problem.headers, 'content-type': PROBLEM_CONTENT_TYPE, 'x-request-id': requestId },
    body: JSON.stringify(problemBody(problem.status, problem.detail, requestId)),
  };
}
