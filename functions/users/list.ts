// GET /users: page through users, oldest first.
import { Type } from '@sinclair/typebox';
import { PublicUser } from '../../layers/http/schemas';
import { lambda, route, users } from '../deps';

export const listUsers = route({
  method: 'GET',
  url: '/users',
  summary: 'List users, ordered by creation time',
  tags: ['users'],
  auth: 'required',
  schema: {
    querystring: Type.Object({
      limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
      offset: Type.Integer({ minimum: 0, maximum: 2_147_483_647, default: 0 }),
    }),
    response: { 200: Type.Array(PublicUser) },
  },
  handle: ({ query }) => users.list(query.limit, query.offset),
});

export const handler = lambda('listUsers', listUsers);
