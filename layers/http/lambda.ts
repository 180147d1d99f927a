// The Lambda adapter: route specs become an API Gateway (REST v1 or HTTP API v2) handler.
import { randomUUID } from 'node:crypto';
import awsLambdaFastify from '@fastify/aws-lambda';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../problems';
import { buildApp, type AppOptions } from './app';
import { toProblem } from './error-mapping';
import { requestLogger } from './logger';
import { requestIdFrom } from './request-id';
import type { AnyRoute } from './route';

/** An API Gateway (REST v1 or HTTP API v2) proxy handler. */
export type LambdaHandler = (
  event: APIGatewayProxyEvent | APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResult | APIGatewayProxyStructuredResultV2>;

/** Turns route specs into a Lambda handler. The app is built once per process, on the first invocation. */
export function lambda(specs: AnyRoute | readonly AnyRoute[], options: AppOptions): LambdaHandler {
  let proxy: Promise<LambdaHandler> | undefined;
  const init = async () => {
    const app = await buildApp(Array.isArray(specs) ? specs : [specs as AnyRoute], options);
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
    return proxy.then((handle) => handle(event, context)).catch((err: unknown) => failedInvocation(err, event, options));
  };
}

/**
 * A failed invocation would reach the client as the runtime's error document (serverless-offline: HTTP 200 with
 * the stack trace), so whatever escapes the app (building it included) is answered here as problem+json.
 */
function failedInvocation(err: unknown, event: { headers?: Record<string, string | undefined> }, options: AppOptions): APIGatewayProxyStructuredResultV2 {
  const requestId = requestIdFrom(event.headers?.['x-request-id']) ?? randomUUID();
  const problem = toProblem(err, options.errors);
  requestLogger(options.logger, requestId).error('invocation failed', { status: problem.status, error: (err as Error)?.name, reason: (err as Error)?.message });
  return {
    statusCode: problem.status,
    headers: { ...problem.headers, 'content-type': PROBLEM_CONTENT_TYPE, 'x-request-id': requestId },
    body: JSON.stringify(problemBody(problem.status, problem.detail, requestId)),
  };
}
