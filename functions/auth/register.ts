// POST /register: create an account.
import { Type } from '@sinclair/typebox';
import { hashPassword } from '../../layers/auth/passwords';
import { users } from '../../layers/db/users';
import { lambda, route } from '../../layers/http/route';
import { Password, PublicUser, Username } from '../../layers/http/schemas';

export const register = route({
  method: 'POST',
  url: '/register',
  summary: 'Register a new user',
  tags: ['auth'],
  auth: 'none',
  status: 201,
  errors: [409, 429],
  schema: {
    body: Type.Object({ username: Username, password: Password }, { additionalProperties: false }),
    response: { 201: PublicUser },
  },
  async handle({ body, log }) {
    const user = await users.create(body.username, await hashPassword(body.password));
    log.event('userRegistered', { user_id: user.id });
    return user;
  },
});

export const handler = lambda(register);
