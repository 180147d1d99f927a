// serverless-offline's departures from API Gateway, undone before an event reaches the app.
import type { LambdaHandler } from '../http/lambda';

// It passes this constant as a request id: not an id worth keeping (HAProxy's X-Request-ID is).
const OFFLINE_PLACEHOLDER = 'offlineContext_';

/**
 * A JSON body of `false` or `0` arrives as that value, not as text (the adapter would throw on it); a request id
 * header holding its placeholder is dropped, so the app makes a fresh one.
 */
function apiGatewayShaped<E extends { body?: unknown; headers?: Record<string, string | undefined> }>(event: E): E {
  const body = event.body as unknown;
  const requestId = event.headers?.['x-request-id'];
  if ((body === undefined || body === null || typeof body === 'string') && !requestId?.startsWith(OFFLINE_PLACEHOLDER)) return event;
  const headers = requestId?.startsWith(OFFLINE_PLACEHOLDER) ? { ...event.headers, 'x-request-id': undefined } : event.headers;
  return { ...event, headers, body: typeof body === 'string' || body == null ? body : JSON.stringify(body) };
}

/** The handler, fed events as API Gateway would send them. */
export const tolerateOffline =
  (handler: LambdaHandler): LambdaHandler =>
  (event, context) =>
    handler(apiGatewayShaped(event as Parameters<typeof apiGatewayShaped>[0]) as Parameters<LambdaHandler>[0], context);
