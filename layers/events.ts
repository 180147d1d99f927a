// Log event names and their fields: one definition shared by the functions, the tests and the dashboard.
export const EVENTS = {
  cacheHit: { name: 'weather.cache_hit', service: 'weather-service', fields: ['city'] },
  cacheMiss: { name: 'weather.cache_miss', service: 'weather-service', fields: ['city'] },
  externalRequest: { name: 'weather.external_request', service: 'weather-service', fields: ['city', 'status', 'duration_ms'] },
  loginSucceeded: { name: 'auth.login_succeeded', service: 'app-backend', fields: ['username'] },
  loginFailed: { name: 'auth.login_failed', service: 'app-backend', fields: ['username', 'reason'] },
  userRegistered: { name: 'user.registered', service: 'app-backend', fields: ['user_id'] },
  userDeleted: { name: 'user.deleted', service: 'app-backend', fields: ['user_id'] },
} as const;

export type EventKey = keyof typeof EVENTS;
export type EventFields<K extends EventKey> = Record<(typeof EVENTS)[K]['fields'][number], string | number>;

/** The only keys promoted to Loki labels (low cardinality). */
export const LOG_LABELS = ['service', 'level', 'event'] as const;

/**
 * HAProxy's access log (local/logs/haproxy.log): one JSON object per line with these keys. The dashboard's
 * request-rate and error panels read them; `service` is always "haproxy".
 */
export const ACCESS_LOG = {
  service: 'haproxy',
  fields: ['timestamp', 'service', 'request_id', 'client_ip', 'method', 'path', 'status', 'duration_ms', 'backend', 'server', 'bytes'],
} as const;
