// Only the app backend may call the weather service: it proves it with the shared service credential.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authentication } from '../../layers/http/app';
import { HttpProblem } from '../../layers/problems';

/** The request header carrying WEATHER_SERVICE_TOKEN (the backend's weather proxy sets it). */
export const SERVICE_TOKEN_HEADER = 'x-service-token';

// Digests have equal lengths, so the comparison takes the same time whatever was sent.
const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The weather service's authentication: a request is the backend's when it carries the expected token. The token
 * is read on first use (a missing setting throws its ConfigError: 503, logged once), and its digest only once.
 */
export function serviceCredential(expectedToken: () => string): Authentication {
  let expected: Buffer | undefined;
  return {
    scheme: 'ServiceToken',
    authenticate(headers) {
      const sent = headers[SERVICE_TOKEN_HEADER];
      expected ??= digest(expectedToken());
      // A repeated header arrives as an array (or joined by a comma) and never matches: refused like a wrong one.
      if (typeof sent !== 'string' || !timingSafeEqual(digest(sent), expected)) {
        throw new HttpProblem(401, `the weather service answers only the app backend: a valid ${SERVICE_TOKEN_HEADER} header is required`, {
          'www-authenticate': 'ServiceToken realm="weather-service"',
        });
      }
      return 'app-backend';
    },
  };
}
