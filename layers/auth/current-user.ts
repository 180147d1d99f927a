// "The current user": the one place a Bearer token becomes a user.
import { unauthorized } from '../problems';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Extracts the bearer token; scheme names are case-insensitive (RFC 7235). */
export function bearerToken(header: string | string[] | undefined): string {
  // Two Authorization headers arrive as an array, or joined with a comma by API Gateway; refuse both.
  if (header === undefined || header === '') throw unauthorized('missing Authorization header');
  if (Array.isArray(header) || header.includes(',')) throw unauthorized('more than one Authorization header');
  const match = /^bearer[ ]+([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)[ ]*$/i.exec(header);
  if (!match) throw unauthorized('Authorization must be "Bearer <token>"');
  return match[1];
}

export interface AuthenticationParts<U> {
  /** The user id of a valid token, else undefined. */
  verifyToken(token: string): string | undefined;
  /** The user of an id, or null when it no longer exists. */
  findUser(id: string): Promise<U | null>;
}

/** Verifies the token and checks that its user still exists (a deleted user's tokens stop working). */
export function authenticator<U>(parts: AuthenticationParts<U>): (header: string | string[] | undefined) => Promise<U> {
  return async (header) => {
    const userId = parts.verifyToken(bearerToken(header));
    if (!userId || !UUID.test(userId)) throw unauthorized('invalid or expired token');
    const user = await parts.findUser(userId);
    if (!user) throw unauthorized('invalid or expired token');
    return user;
  };
}
