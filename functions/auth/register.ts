// POST /register: create an account.
import { Type } from '@sinclair/typebox';
import { Password, PublicUser, Username } from '../../layers/http/schemas';
import { lambda, passwords, route, users } from '../deps';

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
    const user = await users.create(body.username, await passwords.hash(body.password));
    log.event('userRegistered', { user_id: user.id });
    return user;
  },
});

export const handler = lambda('register', register);
