// Only the app backend may call the weather service: it proves it with the shared service credential.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpProblem } from '../../layers/problems';
import { serviceToken } from './deps';

/** The request header carrying WEATHER_SERVICE_TOKEN (the backend's weather proxy sets it). */
export const SERVICE_TOKEN_HEADER = 'x-service-token';

// Digests have equal lengths, so the comparison takes the same time whatever was sent.
const digest = (value: string) => createHash('sha256').update(value).digest();

// The setting is read once per process, so its digest is computed once too, not on every request.
let expectedDigest: Buffer | undefined;
const expected = (): Buffer => (expectedDigest ??= digest(serviceToken()));

/** Refuses (401) a request without the right credential; a missing setting is its ConfigError (503, logged once). */
export function requireServiceCredential(headers: IncomingHttpHeaders): void {
  const sent = headers[SERVICE_TOKEN_HEADER];
  // A repeated header arrives as an array (or joined by a comma) and never matches: refused like a wrong one.
  if (typeof sent !== 'string' || !timingSafeEqual(digest(sent), expected())) {
    throw new HttpProblem(401, `the weather service answers only the app backend: a valid ${SERVICE_TOKEN_HEADER} header is required`, {
      'www-authenticate': 'ServiceToken realm="weather-service"',
    });
  }
}
