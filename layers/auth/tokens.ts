// Access tokens: HS256 JWTs with sub, iat, exp and iss; verification pins the algorithm and issuer.
import jwt from 'jsonwebtoken';
import { config } from '../config';

export interface AccessToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export function issueAccessToken(userId: string): AccessToken {
  const { jwtSecret, jwtTtlSeconds, jwtIssuer } = config();
  const token = jwt.sign({}, jwtSecret, {
    algorithm: 'HS256',
    subject: userId,
    issuer: jwtIssuer,
    expiresIn: jwtTtlSeconds,
  });
  return { access_token: token, token_type: 'bearer', expires_in: jwtTtlSeconds };
}

/** The user id (sub) of a valid token, or undefined for any invalid one. */
export function verifyAccessToken(token: string): string | undefined {
  const { jwtSecret, jwtIssuer } = config();
  try {
    const claims = jwt.verify(token, jwtSecret, { algorithms: ['HS256'], issuer: jwtIssuer });
    if (typeof claims !== 'object' || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return undefined;
    return claims.sub;
  } catch {
    return undefined;
  }
}
