// One structured logger per service (Powertools), with the request id attached to every line.
import { Logger } from '@aws-lambda-powertools/logger';
import { EVENTS, type EventFields, type EventKey } from '../events';

/** A service's Powertools logger (one per bundle: Powertools keeps no state that bundles would need to share). */
export const serviceLogger = (serviceName: string): Logger => new Logger({ serviceName });

export interface RequestLogger {
  readonly requestId: string;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Events are INFO lines on stdout (Powertools sends WARN and ERROR to stderr), which is what the log shippers tail. */
  event<K extends EventKey>(key: K, fields: EventFields<K>): void;
}

/**
 * A logger bound to one request. The id goes into each call instead of appendKeys(), because
 * serverless-offline runs concurrent requests in one process and shared keys would interleave.
 */
export function requestLogger(log: Logger, requestId: string): RequestLogger {
  return {
    requestId,
    info: (message, fields) => log.info(message, { request_id: requestId, ...fields }),
    warn: (message, fields) => log.warn(message, { request_id: requestId, ...fields }),
    error: (message, fields) => log.error(message, { request_id: requestId, ...fields }),
    event(key, fields) {
      const { name } = EVENTS[key];
      log.info(name, { request_id: requestId, event: name, ...fields });
    },
  };
}
