// The credential rules: what a username and a password may be. Shared by the schemas, the users store and bcrypt,
// without loading any of them (the weather service bundles the schemas and never hashes a password).
export const USERNAME_PATTERN = '^[A-Za-z0-9_.-]{3,32}$';
export const USERNAME_DESCRIPTION = '3 to 32 characters of A-Z a-z 0-9 _ . - (unique, case-insensitive)';

const REGISTRABLE_NAME = new RegExp(USERNAME_PATTERN);

/** Whether a name could ever have been registered (anything else is never looked up nor logged as sent). */
export const isRegistrableUsername = (name: string): boolean => REGISTRABLE_NAME.test(name);

export const PASSWORD_MIN_BYTES = 8;
/** bcrypt reads at most 72 bytes; longer passwords are refused instead of silently truncated. */
export const PASSWORD_MAX_BYTES = 72;

/** Why a password cannot be used, or undefined when it can. */
export function passwordLengthProblem(password: string): string | undefined {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes < PASSWORD_MIN_BYTES) return `password must be at least ${PASSWORD_MIN_BYTES} bytes`;
  if (bytes > PASSWORD_MAX_BYTES) return `password must be at most ${PASSWORD_MAX_BYTES} bytes in UTF-8`;
  return undefined;
}
