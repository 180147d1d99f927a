// Password length limits, apart from bcrypt: schemas use them without loading a native addon (the weather
// service bundles layers/http/schemas.ts and never hashes a password).
export const PASSWORD_MIN_BYTES = 8;
/** bcrypt reads at most 72 bytes; longer passwords are refused instead of silently truncated. */
export const PASSWORD_MAX_BYTES = 72;
