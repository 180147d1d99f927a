// How a service answers a bad setting: 503 problem+json (the details went to the log once, never to the caller).
import { HttpProblem } from '../problems';
import { ConfigError } from './env';

/** For a service's error registry: bad settings are answered 503 (the details went to the log once). */
export const configProblem = (err: unknown): HttpProblem | undefined =>
  err instanceof ConfigError ? new HttpProblem(503, 'the service is not configured; the operator has been told in the logs') : undefined;
