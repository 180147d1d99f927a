// Device tokens (OWASP Authentication Cheat Sheet, "device cookies"): proof that a client has signed in to an account
// before. Issued by POST /token on every success, bound to the user id (a name deleted and registered again is
// another account), expiring, signed with a key of their own that only the token function holds. A client that sends
// one back is trusted past the account-wide counter of failed logins (login-throttle.ts), never past the others.
import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export interface DeviceTokenSettings {
  secret: string;
  ttlSeconds: number;
  issuer: string;
}

/** The cookie the token also travels in, scoped to the one path that reads it. */
export const DEVICE_COOKIE = 'device_token';
// An access token is never taken for a device token (other key, and this audience).
const AUDIENCE = 'device';

/** The Set-Cookie value that keeps `token` in the browser: sent back to POST /token only, never readable by scripts. */
export const deviceCookie = (token: string, maxAgeSeconds: number) =>
  `${DEVICE_COOKIE}=${token}; Max-Age=${maxAgeSeconds}; Path=/token; Secure; HttpOnly; SameSite=Strict`;

/** The device token in a Cookie header, if there is one. */
export function deviceTokenInCookies(header: string | undefined): string | undefined {
  for (const pair of header?.split(';') ?? []) {
    const [name, ...value] = pair.trim().split('=');
    if (name === DEVICE_COOKIE) return value.join('=');
  }
  return undefined;
}

export type DeviceTokens = ReturnType<typeof deviceTokens>;

/** Issues and checks device tokens with the service's settings (read on first use). */
export function deviceTokens(settings: () => DeviceTokenSettings) {
  let cachedKey: { secret: string; key: KeyObject } | undefined;
  function secretKey(): KeyObject {
    const { secret } = settings();
    if (cachedKey?.secret !== secret) cachedKey = { secret, key: createSecretKey(Buffer.from(secret)) };
    return cachedKey.key;
  }

  return {
    /** A new device token for this user (its id is the token's own, for counting its failures). */
    issue(userId: string): { token: string; expiresIn: number } {
      const { ttlSeconds, issuer } = settings();
      const options = { algorithm: 'HS256', subject: userId, audience: AUDIENCE, issuer, expiresIn: ttlSeconds, jwtid: randomUUID() } as const;
      return { token: jwt.sign({}, secretKey(), options), expiresIn: ttlSeconds };
    },

    /** The id of `token` when it is a valid, unexpired device token of `userId`; undefined for anything else. */
    verify(token: string | undefined, userId: string | undefined): string | undefined {
      if (!token || !userId) return undefined;
      try {
        const claims = jwt.verify(token, secretKey(), { algorithms: ['HS256'], audience: AUDIENCE, issuer: settings().issuer, subject: userId });
        return typeof claims === 'object' && typeof claims.jti === 'string' && typeof claims.exp === 'number' ? claims.jti : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
