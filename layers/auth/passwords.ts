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

export async function hashPassword(password: string): Promise<string> {
  const problem = passwordLengthProblem(password);
  if (problem) throw badRequest(problem);
  return bcrypt.hash(password, config().bcryptCost);
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash. Without a hash (unknown user) it compares against a dummy
 * hash of the same cost, so an unknown user and a wrong password take the same time.
 */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  dummyHash ??= bcrypt.hash('dummy password for timing', config().bcryptCost);
  const usable = passwordLengthProblem(password) === undefined;
  const matches = await bcrypt.compare(usable ? password : '', hash ?? (await dummyHash));
  return matches && usable && hash !== undefined;
}
