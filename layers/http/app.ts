// The fastify app factory: each Lambda handler is a tiny fastify app built from route specs, with one error model.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import formBody from '@fastify/formbody';
import type { Logger } from '@aws-lambda-powertools/logger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type onRequestHookHandler } from 'fastify';
import { ConfigError } from '../config/env';
import { HttpProblem, PROBLEM_CONTENT_TYPE, problemBody } from '../problems';
import { clientAddress, type Edge } from './client-address';
import { toProblem, type ErrorMapper } from './error-mapping';
import { requestLogger } from './logger';
import { requestIdFrom } from './request-id';
import type { AnyRoute, AuthMode, RouteContext, RouteSchema } from './route';
import { routeSchema } from './route-schema';
import { validatorCompiler } from './validation';

/** How a service tells its callers apart: routes with `auth: 'required'` run it before anything else of the request is read. */
export interface Authentication {
  /** The OpenAPI security scheme those operations name (defined in the service's documentation). */
  scheme: string;
  /**
   * The caller of a request, from its headers or what API Gateway proved about it (the Lambda event's
   * requestContext, e.g. `authorizer.iam`; undefined outside Lambda); throws the service's 401 problem when there is none.
   */
  authenticate(headers: IncomingHttpHeaders, event?: unknown): Promise<unknown> | unknown;
}

/** The API Gateway event a request came from (@fastify/aws-lambda decorates the request with it). */
const lambdaEvent = (request: FastifyRequest) => (request as unknown as { awsLambda?: { event?: unknown } }).awsLambda?.event;

export interface AppOptions {
  /** The service's logger (every request's lines carry its request id). */
  logger: Logger;
  /** Called with the app before routes are added (docs plugins). */
  setup?: (app: FastifyInstance) => Promise<void> | void;
  /** The answer for a request no route matches (default 404). */
  notFound?: (method: string, path: string) => HttpProblem;
  /** How this service answers its dependencies' errors (database down, bad settings…). */
  errors?: readonly ErrorMapper[];
  /** Required when a route has `auth: 'required'`. */
  authentication?: Authentication;
  /** Runs before every request; throws (e.g. the service's ConfigError) when the service cannot serve. */
  precondition?: () => void;
  /** The edge every request must come through, which names the client (read per request); none: the connection's address. */
  edge?: () => Edge | undefined;
}

/** The largest request body a function reads (HAProxy's MAX_BODY_BYTES refuses larger ones at the edge). */
const BODY_LIMIT_BYTES = 64 * 1024;

const defaultNotFound = (method: string, path: string) => new HttpProblem(404, `no route for ${method} ${path}`);

/** Builds one fastify app serving the given routes, with the shared error model and logger. */
export async function buildApp(specs: readonly AnyRoute[], options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']) || randomUUID(),
    // Long path parameters reach the route schema (400 problem+json) instead of fastify's own plain 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    // The router's own refusals (a broken %-escape, an overlong parameter) bypass the error handler: answer them here.
    frameworkErrors: (err, request, reply) => {
      reply.header('x-request-id', request.id);
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const problem = new HttpProblem(tooLong ? 414 : 400, tooLong ? 'a path parameter is too long' : 'the URL is malformed');
      const refused = edgeRefusal(request, options);
      return sendProblem(reply, refused === undefined ? problem : toProblem(refused, options.errors), request.id);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  if (specs.some((s) => s.forms)) await app.register(formBody, { bodyLimit: BODY_LIMIT_BYTES });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // First of all: a request that went around the edge is refused before anything else of it is looked at.
    addresses.set(request, clientAddress(request, options.edge?.()));
    options.precondition?.();
  });
  app.setErrorHandler((err, request, reply) => {
    const problem = toProblem(err, options.errors);
    // A bad setting was logged once by the service's settings loader: not again on every request it fails.
    if (problem.status >= 500 && !(err instanceof ConfigError)) {
      const e = err as { name?: string; code?: string; message?: string };
      requestLogger(options.logger, request.id).error('request failed', { status: problem.status, error: e.name, code: e.code, reason: e.message });
    }
    return sendProblem(reply, problem, request.id);
  });
  const notFound = options.notFound ?? defaultNotFound;
  app.setNotFoundHandler((request, reply) => sendProblem(reply, notFound(request.method, request.url.split('?')[0]), request.id));
  await options.setup?.(app);
  for (const spec of specs) addRoute(app, spec, options);
  return app;
}

// Serialized here, not by the route's response schema: a route may document another body for the same status (the health check's 503).
const serializeProblem = (body: unknown) => JSON.stringify(body);

function sendProblem(reply: FastifyReply, problem: HttpProblem, requestId: string) {
  return reply
    .code(problem.status)
    .headers(problem.headers)
    .type(PROBLEM_CONTENT_TYPE)
    .serializer(serializeProblem)
    .send(problemBody(problem.status, problem.detail, requestId));
}

/** The caller of each request being served, set by the authentication hook, read by the handler. */
const callers = new WeakMap<FastifyRequest, unknown>();
/** The client address of each request being served, set by the first hook. */
const addresses = new WeakMap<FastifyRequest, string>();

/** The edge's refusal of a request the router refused before any hook ran (a malformed URL), if it would refuse it. */
function edgeRefusal(request: FastifyRequest, options: AppOptions): unknown {
  try {
    clientAddress(request, options.edge?.());
    return undefined;
  } catch (err) {
    return err;
  }
}

function addRoute(app: FastifyInstance, spec: AnyRoute, options: AppOptions) {
  const { authentication } = options;
  if (spec.auth === 'required' && !authentication) throw new Error(`${spec.method} ${spec.url} needs authentication, and the service gave none`);
  const onRequest: onRequestHookHandler[] = [];
  // First: a caller without credentials learns nothing of what the route would accept (401 before 400/415).
  if (spec.auth === 'required') {
    onRequest.push(async (request) => void callers.set(request, await authentication!.authenticate(request.headers, lambdaEvent(request))));
  }
  // A body without a Content-Type would be guessed at (and parsed as JSON): refused before anything reads it.
  if (spec.schema.body) onRequest.push(requireContentType);
  app.route({
    method: spec.method,
    url: spec.url,
    schema: routeSchema(spec, authentication?.scheme),
    onRequest: onRequest.length > 0 ? onRequest : undefined,
    handler: async (request, reply) => {
      const user = callers.get(request);
      const ctx = {
        body: request.body,
        query: request.query,
        params: request.params,
        user,
        headers: request.headers,
        clientAddress: addresses.get(request)!,
        log: requestLogger(options.logger, request.id),
        reply,
      };
      const result = await spec.handle(ctx as RouteContext<RouteSchema, AuthMode, unknown>);
      if (reply.sent) return reply;
      reply.code(reply.statusCode !== 200 ? reply.statusCode : (spec.status ?? 200));
      return result === undefined ? reply.send() : result;
    },
  });
}

async function requireContentType(request: { headers: Record<string, unknown> }) {
  if (!request.headers['content-type']) throw new HttpProblem(415, 'a Content-Type header is required (application/json)');
}
