// POST /token: the OAuth2 password flow (form-urlencoded, JSON also accepted).
import { Type } from '@sinclair/typebox';
import { isRegistrableUsername } from '../../layers/credentials';
import type { LambdaHandler } from '../../layers/http/lambda';
import { TokenResponse } from '../../layers/http/schemas';
import { HttpProblem, unauthorized } from '../../layers/problems';
import { lambda, loginThrottle, passwords, route, tokens, users } from '../deps';

// A password typed into the username field, or control characters, must not reach the logs.
const loggable = (username: string) => (isRegistrableUsername(username) ? username : 'invalid');

// What standard OAuth2 clients send besides the credentials; the product has no confidential
// clients, so client credentials and scope are accepted and ignored.
const TokenRequest = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: 1024, format: 'password' }),
  grant_type: Type.Optional(Type.Literal('password', { description: 'Only the password grant is supported' })),
  scope: Type.Optional(Type.String({ maxLength: 1024 })),
  client_id: Type.Optional(Type.String({ maxLength: 256 })),
  client_secret: Type.Optional(Type.String({ maxLength: 256, format: 'password' })),
});

export const token = route({
  method: 'POST',
  url: '/token',
  summary: 'Get an access token (OAuth2 password flow)',
  description: 'Send `username` and `password` as application/x-www-form-urlencoded (or JSON).',
  tags: ['auth'],
  auth: 'none',
  forms: true,
  errors: [401, 429],
  schema: { body: TokenRequest, response: { 200: TokenResponse } },
  async handle({ body, log }) {
    // Before any lookup or bcrypt work, and alike for known and unknown names.
    const wait = await loginThrottle.admit(body.username);
    if (wait !== undefined) {
      log.event('loginFailed', { username: loggable(body.username), reason: 'throttled' });
      throw new HttpProblem(429, `too many failed logins for this username, try again in ${wait} s`, { 'retry-after': String(wait) });
    }
    const user = await users.findByName(body.username);
    const valid = await passwords.verify(body.password, user?.password_hash);
    if (!user || !valid) {
      await loginThrottle.recordFailure(body.username);
      log.event('loginFailed', { username: loggable(body.username), reason: user ? 'wrong_password' : 'unknown_user' });
      throw unauthorized('incorrect username or password');
    }
    await loginThrottle.reset(user.username);
    log.event('loginSucceeded', { username: user.username });
    return tokens.issue(user.id);
  },
});

const answer = lambda('token', token);

/** Every /token answer, errors included, is kept out of caches (RFC 6749 §5.1). */
export const handler: LambdaHandler = async (event, context) => {
  const result = await answer(event, context);
  return typeof result === 'object' ? { ...result, headers: { ...result.headers, 'cache-control': 'no-store', pragma: 'no-cache' } } : result;
};
