// Password hashing with bcrypt's async API (it runs on libuv's thread pool, off the event loop).
import bcrypt from 'bcrypt';
import { config } from '../config';
import { badRequest, HttpProblem } from '../http/errors';
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
// The line is bounded in length and in waiting time: under overload a quick 503 beats an answer after the client left.
let running = 0;
interface Waiter {
  start(): void;
  timer: NodeJS.Timeout;
}
const waiting: Waiter[] = [];

function overloaded(detail: string): HttpProblem {
  const retryAfter = Math.max(1, Math.ceil(config().bcryptQueueTimeoutMs / 1000));
  return new HttpProblem(503, detail, { 'retry-after': String(retryAfter) });
}

function waitForTurn(): Promise<void> {
  const { bcryptQueueMax, bcryptQueueTimeoutMs } = config();
  if (waiting.length >= bcryptQueueMax) return Promise.reject(overloaded('too many password checks are waiting, try again shortly'));
  return new Promise<void>((resolveTurn, reject) => {
    const waiter: Waiter = {
      start() {
        clearTimeout(waiter.timer);
        resolveTurn();
      },
      // Leaves the line when its time is up, so a request answered 503 never runs bcrypt later.
      timer: setTimeout(() => {
        waiting.splice(waiting.indexOf(waiter), 1);
        reject(overloaded('password checks are overloaded, try again shortly'));
      }, bcryptQueueTimeoutMs),
    };
    waiting.push(waiter);
  });
}

async function inLine<T>(work: () => Promise<T>): Promise<T> {
  if (running < config().bcryptConcurrency) running++;
  else await waitForTurn(); // the slot is handed over, still counted
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next.start();
    else running--;
  }
}

/** How many bcrypt operations run and wait in this process (tests and diagnostics). */
export function passwordQueue(): { running: number; waiting: number } {
  return { running, waiting: waiting.length };
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
  // A dummy hash refused by a full line is made again next time, not kept as a rejected promise.
  dummyHash ??= inLine(() => bcrypt.hash('dummy password for timing', config().bcryptCost)).catch((err: unknown) => {
    dummyHash = undefined;
    throw err;
  });
  const usable = passwordLengthProblem(password) === undefined;
  const against = hash ?? (await dummyHash);
  const matches = await inLine(() => bcrypt.compare(usable ? password : '', against));
  return matches && usable && hash !== undefined;
}
