// Password hashing with bcrypt's async API (it runs on libuv's thread pool, off the event loop).
import type * as Bcrypt from 'bcrypt';
import { passwordLengthProblem } from '../credentials';
import { badRequest, HttpProblem } from '../problems';

// Loaded on first use: a function that never hashes (health, users, weather) ships without the native addon.
// `default` is the module object itself, as `require` gives it (the tests spy on its functions).
let loaded: Promise<typeof Bcrypt> | undefined;
const bcrypt = () => (loaded ??= import('bcrypt').then((m) => m.default));

export interface BcryptSettings {
  cost: number;
  /** bcrypt operations in flight per process; the rest wait in line. */
  concurrency: number;
  /** operations allowed to wait for a turn per process; beyond it 503 */
  queueMax: number;
  /** how long an operation may wait for a turn before it is answered 503 instead */
  queueTimeoutMs: number;
}

export type Passwords = ReturnType<typeof passwordHasher>;

interface Waiter {
  start(): void;
  timer: NodeJS.Timeout;
}

function overloaded(detail: string, timeoutMs: number): HttpProblem {
  const retryAfter = Math.max(1, Math.ceil(timeoutMs / 1000));
  return new HttpProblem(503, detail, { 'retry-after': String(retryAfter) });
}

// bcrypt runs on libuv's thread pool, which pg's SCRAM handshake (PBKDF2, HMAC) needs too: with every thread
// busy and a queue of compares behind them, new database connections timed out (503) under POST /token load.
// So only `concurrency` operations run at once; the others wait here, not in the pool's queue.
// The line is bounded in length and in waiting time: under overload a quick 503 beats an answer after the client left.
function bcryptLine(settings: () => BcryptSettings) {
  let running = 0;
  const waiting: Waiter[] = [];

  function waitForTurn(): Promise<void> {
    const { queueMax, queueTimeoutMs } = settings();
    if (waiting.length >= queueMax) return Promise.reject(overloaded('too many password checks are waiting, try again shortly', queueTimeoutMs));
    return new Promise<void>((resolveTurn, reject) => {
      const waiter: Waiter = {
        start() {
          clearTimeout(waiter.timer);
          resolveTurn();
        },
        // Leaves the line when its time is up, so a request answered 503 never runs bcrypt later.
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(overloaded('password checks are overloaded, try again shortly', queueTimeoutMs));
        }, queueTimeoutMs),
      };
      waiting.push(waiter);
    });
  }

  return {
    async inLine<T>(work: () => Promise<T>): Promise<T> {
      if (running < settings().concurrency) running++;
      else await waitForTurn(); // the slot is handed over, still counted
      try {
        return await work();
      } finally {
        const next = waiting.shift();
        if (next) next.start();
        else running--;
      }
    },
    state: () => ({ running, waiting: waiting.length }),
  };
}

/** Hashing and checking of passwords with the service's bcrypt settings (read on first use). */
export function passwordHasher(settings: () => BcryptSettings) {
  const line = bcryptLine(settings);
  let dummyHash: Promise<string> | undefined;

  return {
    async hash(password: string): Promise<string> {
      const problem = passwordLengthProblem(password);
      if (problem) throw badRequest(problem);
      return line.inLine(async () => (await bcrypt()).hash(password, settings().cost));
    },

    /**
     * Checks a password against a stored hash. Without a hash (unknown user) it compares against a dummy
     * hash of the same cost, so an unknown user and a wrong password take the same time.
     */
    async verify(password: string, hash: string | undefined): Promise<boolean> {
      // A dummy hash refused by a full line is made again next time, not kept as a rejected promise.
      dummyHash ??= line
        .inLine(async () => (await bcrypt()).hash('dummy password for timing', settings().cost))
        .catch((err: unknown) => {
          dummyHash = undefined;
          throw err;
        });
      const usable = passwordLengthProblem(password) === undefined;
      const against = hash ?? (await dummyHash);
      const matches = await line.inLine(async () => (await bcrypt()).compare(usable ? password : '', against));
      return matches && usable && hash !== undefined;
    },

    /** How many bcrypt operations run and wait in this process (tests and diagnostics). */
    queue: (): { running: number; waiting: number } => line.state(),
  };
}
