// Password hashing with bcrypt's async API (it runs on libuv's thread pool, off the event loop).
import bcrypt from 'bcrypt';
import { passwordLengthProblem } from '../credentials';
import { badRequest } from '../problems';

export interface BcryptSettings {
  cost: number;
  /** bcrypt operations in flight per process; the rest wait in line. */
  concurrency: number;
}

export type Passwords = ReturnType<typeof passwordHasher>;

/** Hashing and checking of passwords with the service's bcrypt settings (read on first use). */
export function passwordHasher(settings: () => BcryptSettings) {
  // bcrypt runs on libuv's thread pool, which pg's SCRAM handshake (PBKDF2, HMAC) needs too: with every thread
  // busy and a queue of compares behind them, new database connections timed out (503) under POST /token load.
  // So only `concurrency` operations run at once; the others wait here, not in the pool's queue.
  let running = 0;
  const waiting: (() => void)[] = [];
  async function inLine<T>(work: () => Promise<T>): Promise<T> {
    if (running < settings().concurrency) running++;
    else await new Promise<void>((resolveTurn) => waiting.push(resolveTurn)); // the slot is handed over, still counted
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  }
  let dummyHash: Promise<string> | undefined;

  return {
    async hash(password: string): Promise<string> {
      const problem = passwordLengthProblem(password);
      if (problem) throw badRequest(problem);
      return inLine(() => bcrypt.hash(password, settings().cost));
    },

    /**
     * Checks a password against a stored hash. Without a hash (unknown user) it compares against a dummy
     * hash of the same cost, so an unknown user and a wrong password take the same time.
     */
    async verify(password: string, hash: string | undefined): Promise<boolean> {
      dummyHash ??= inLine(() => bcrypt.hash('dummy password for timing', settings().cost));
      const usable = passwordLengthProblem(password) === undefined;
      const against = hash ?? (await dummyHash);
      const matches = await inLine(() => bcrypt.compare(usable ? password : '', against));
      return matches && usable && hash !== undefined;
    },
  };
}
