// The request id: HAProxy's X-Request-ID when it looks like one, passed on to logs, answers and the weather service.

/** The header's value when it is a usable request id, else undefined. */
export function requestIdFrom(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v && /^[\w.:-]{1,128}$/.test(v) ? v : undefined;
}
