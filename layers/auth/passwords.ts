// Password hashing with bcrypt's async API (it runs on libuv's thread pool, off the event loop).
import bcrypt from 'bcrypt';
import { config } from '../config';
import { badRequest } from '../http/errors';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES } from './password-limits';

export function passwordLengthProblem(password: string): string | undefined {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes < PASSWORD_MIN_BYTES) return `password must be at least ${PASSWORD_MIN_BYTES} bytes`;
  if (bytes > PASSWORD_MAX_BYTES) return `password must be at most ${PASSWORD_MAX_BYTES} bytes in UTF-8`;
  return undefined;
}

// bcrypt runs on libuv's thread pool, which pg's SCRAM handshake (PBKDF2, HMAC) needs too: with every thread
// busy and a queue of compares behind them, new database connections timed out (503) under POST /token load.
// So only config().bcryptConcurrency operations run at once; the others wait here, not in the pool's queue.
let running = 0;
const waiting: (() => void)[] = [];

async function inLine<T>(work: () => Promise<T>): Promise<T> {
  if (running < config().bcryptConcurrency) running++;
  else await new Promise<void>((resolveTurn) => waiting.push(resolveTurn)); // the slot is handed over, still counted
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

export async function hashPassword(password: string): Promise<string> {
  const problem = passwordLengthProblem(password);
  if (problem) throw badRequest(problem);
  return inLine(() => bcrypt.hash(password, config().bcryptCost));
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash. Without a hash (unknown user) it compares against a dummy
 * hash of the same cost, so an unknown user and a wrong password take the same time.
 */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  dummyHash ??= inLine(() => bcrypt.hash('dummy password for timing', config().bcryptCost));
  const usable = passwordLengthProblem(password) === undefined;
  const against = hash ?? (await dummyHash);
  const matches = await inLine(() => bcrypt.compare(usable ? password : '', against));
  return matches && usable && hash !== undefined;
}
