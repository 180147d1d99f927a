// Which database errors mean "the database cannot be reached" (answered 503) rather than a bug.
import { HttpProblem } from '../problems';
import type { Database } from './pool';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// SQLSTATE: 08xxx connection exception, 57P0x shutdown / cannot connect now, 53300 too many connections, 57014 a
// statement cancelled (statement_timeout: the server's side of the query deadline, which may fire before the client's).
const SQLSTATE = /^(08...|57P0[1-4]|53300|57014)$/;
const MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Query read timeout',
  'connection timeout',
  'Client has encountered a connection error',
  'database deadline exceeded',
  // TLS demanded by the URL (sslmode) and refused or unverifiable: the database cannot be reached as configured.
  'The server does not support SSL connections',
];
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export class DatabaseDeadlineError extends Error {
  constructor(ms: number) {
    super(`database deadline exceeded (${ms} ms)`);
    this.name = 'DatabaseDeadlineError';
  }
}

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  if (err instanceof DatabaseDeadlineError) return true;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || TLS_CODES.has(e.code) || SQLSTATE.test(e.code))) return true;
  return typeof e.message === 'string' && MESSAGES.some((m) => (e.message as string).includes(m));
}

/** Races a database call against a deadline, so a frozen server cannot hang a request. */
export async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseDeadlineError(ms)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A health probe: the database answers a trivial query within `ms`. */
export async function probeDatabase(db: Database, ms: number): Promise<void> {
  await withDeadline(db.one('SELECT 1 AS ok'), ms);
}

/** For a service's error registry: an unreachable database is answered 503. */
export const databaseUnavailableProblem = (err: unknown): HttpProblem | undefined =>
  isDatabaseUnavailable(err) ? new HttpProblem(503, 'the database is unavailable, try again shortly') : undefined;
