// What every scenario gets: where things are, how to print, and the list of things to stop at the end.
import { join, resolve } from 'node:path';
import type { Options } from './options';

export const ROOT = resolve(__dirname, '..');
export const RESULTS = join(ROOT, 'bench', 'results');
export const BCRYPT_COST = 10;
/** The edge's limits, raised for the bench's own stacks so the load is not rate-limited (printed and reported). */
export const RATE_LIMITS_RAISED = {
  RATE_LIMIT_AUTH_REQUESTS: '1000000',
  RATE_LIMIT_AUTH_WINDOW_SECONDS: '10',
  RATE_LIMIT_WEATHER_REQUESTS: '1000000',
  RATE_LIMIT_WEATHER_WINDOW_SECONDS: '10',
};

/**
 * The services' own limits, raised for the bench's stacks and direct processes: the cold burst of many cities must
 * not meet the provider budget, and a login flood must not meet the failed-login counters (printed and reported).
 */
export const STACK_LIMITS_RAISED = {
  OPENWEATHER_CALLS_PER_MINUTE: '10000',
  // The cold burst's 50 cities come from one user and one address.
  WEATHER_MISSES_PER_USER_PER_MINUTE: '10000',
  WEATHER_MISSES_PER_ADDRESS_PER_MINUTE: '10000',
  LOGIN_THROTTLE_FAILURES: '1000000',
};

export const say = (message: string) => process.stdout.write(`${message}\n`);

export interface BenchContext {
  options: Options;
  /** throw-away dir of this run (logs, state, packages, profiles) */
  scratch: string;
  logDir: string;
  /** cleanup steps, run in reverse order however the bench ends */
  cleanups: (() => Promise<void>)[];
  /** process groups the bench started (each led by the pid), checked for leftovers at the end */
  startedGroups: Set<number>;
  notes: string[];
}
