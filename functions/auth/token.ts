// POST /token: the OAuth2 password flow (form-urlencoded, JSON also accepted).
import { Type } from '@sinclair/typebox';
import { deviceCookie, deviceTokenInCookies } from '../../layers/auth/device-tokens';
import type { LambdaHandler } from '../../layers/http/lambda';
import { TokenResponse } from '../../layers/http/schemas';
import { unauthorized } from '../../layers/problems';
import { deviceTokens, lambda, loginThrottle, passwords, route, tokens, users } from '../deps';

// What standard OAuth2 clients send besides the credentials; the product has no confidential
// clients, so client credentials and scope are accepted and ignored.
const TokenRequest = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: 1024, format: 'password' }),
  grant_type: Type.Optional(Type.Literal('password', { description: 'Only the password grant is supported' })),
  scope: Type.Optional(Type.String({ maxLength: 1024 })),
  client_id: Type.Optional(Type.String({ maxLength: 256 })),
  client_secret: Type.Optional(Type.String({ maxLength: 256, format: 'password' })),
  device_token: Type.Optional(
    Type.String({ maxLength: 2048, format: 'password', description: 'The device token of an earlier login (or send its cookie instead)' }),
  ),
});

export const token = route({
  method: 'POST',
  url: '/token',
  summary: 'Get an access token (OAuth2 password flow)',
  description:
    'Send `username` and `password` as application/x-www-form-urlencoded (or JSON). Failed logins slow further tries down (429 with Retry-After): from the same address, and at the account for clients without its device token. A successful answer carries a device token, also as a cookie: send it back with later logins.',
  tags: ['auth'],
  auth: 'none',
  forms: true,
  errors: [401, 429],
  schema: { body: TokenRequest, response: { 200: TokenResponse } },
  async handle({ body, headers, clientAddress, log, reply }) {
    const user = await users.findByName(body.username);
    // Only an existing account is named in the logs: a password typed into the username field never is.
    const named = user?.username ?? 'unknown';
    const device = deviceTokens.verify(body.device_token ?? deviceTokenInCookies(headers.cookie), user?.id);
    const attempt = loginThrottle.attempt({ username: body.username, address: clientAddress, userId: user?.id, deviceId: device });
    // Before any bcrypt work, and alike for known and unknown names.
    const refusal = await attempt.admit();
    if (refusal) {
      log.event('loginFailed', { username: named, reason: 'throttled' });
      throw refusal;
    }
    const valid = await attempt.check(() => passwords.verify(body.password, user?.password_hash));
    if (!user || !valid) {
      await attempt.failed();
      log.event('loginFailed', { username: named, reason: user ? 'wrong_password' : 'unknown_user' });
      throw unauthorized('incorrect username or password');
    }
    await attempt.succeeded();
    log.event('loginSucceeded', { username: user.username });
    const trust = deviceTokens.issue(user.id);
    reply.header('set-cookie', deviceCookie(trust.token, trust.expiresIn));
    return { ...tokens.issue(user.id), device_token: trust.token };
  },
});

const answer = lambda('token', token);

/** Every /token answer, errors included, is kept out of caches (RFC 6749 §5.1). */
export const handler: LambdaHandler = async (event, context) => {
  const result = await answer(event, context);
  return typeof result === 'object' ? { ...result, headers: { ...result.headers, 'cache-control': 'no-store', pragma: 'no-cache' } } : result;
};
