// GET /user/{user_id}: one user.
import { PublicUser, UserIdParams } from '../../layers/http/schemas';
import { notFound } from '../../layers/problems';
import { lambda, route, users } from '../deps';

export const getUser = route({
  method: 'GET',
  url: '/user/:user_id',
  summary: 'Get a user by id',
  tags: ['users'],
  auth: 'required',
  errors: [404],
  schema: { params: UserIdParams, response: { 200: PublicUser } },
  async handle({ params, user }) {
    // Ids are stored in lower case. The caller's own record was just read to authenticate; no second query for it.
    const id = params.user_id.toLowerCase();
    const found = id === user.id ? user : await users.findById(id);
    if (!found) throw notFound(`user ${id} does not exist`);
    return found;
  },
});

export const handler = lambda('getUser', getUser);
