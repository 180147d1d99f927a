// The request id: HAProxy's X-Request-ID when it looks like one, passed on to logs, answers and the weather service.

// serverless-offline passes this constant as the API Gateway request id: not an id worth keeping.
const OFFLINE_PLACEHOLDER = 'offlineContext_';

/** The header's value when it is a usable request id, else undefined. */
export function requestIdFrom(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v && /^[\w.:-]{1,128}$/.test(v) && !v.startsWith(OFFLINE_PLACEHOLDER) ? v : undefined;
}
