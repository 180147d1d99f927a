// DELETE /user/{user_id}: delete your own account; its tokens stop working at once.
import { Type } from '@sinclair/typebox';
import { UserIdParams } from '../../layers/http/schemas';
import { forbidden, notFound } from '../../layers/problems';
import { lambda, route, users } from '../deps';

export const deleteUser = route({
  method: 'DELETE',
  url: '/user/:user_id',
  summary: 'Delete your own account',
  tags: ['users'],
  auth: 'required',
  status: 204,
  errors: [403, 404],
  schema: { params: UserIdParams, response: { 204: Type.Null({ description: 'Deleted' }) } },
  async handle({ params, user, log }) {
    // Ids are stored in lower case; the same id in upper case is still the caller's own.
    const id = params.user_id.toLowerCase();
    if (id !== user.id) {
      if (!(await users.findById(id))) throw notFound(`user ${id} does not exist`);
      throw forbidden('you can only delete your own account');
    }
    if (!(await users.remove(user.id))) throw notFound(`user ${id} does not exist`);
    log.event('userDeleted', { user_id: user.id });
    return undefined;
  },
});

export const handler = lambda('deleteUser', deleteUser);
