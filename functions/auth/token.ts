// POST /token: the OAuth2 password flow (form-urlencoded, JSON also accepted).
import { Type } from '@sinclair/typebox';
import { TokenResponse } from '../../layers/http/schemas';
import { unauthorized } from '../../layers/problems';
import { lambda, passwords, route, tokens, users } from '../deps';

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
    const user = await users.findByName(body.username);
    const valid = await passwords.verify(body.password, user?.password_hash);
    if (!user || !valid) {
      log.event('loginFailed', { username: body.username, reason: user ? 'wrong_password' : 'unknown_user' });
      throw unauthorized('incorrect username or password');
    }
    log.event('loginSucceeded', { username: user.username });
    return tokens.issue(user.id);
  },
});

export const handler = lambda(token);
