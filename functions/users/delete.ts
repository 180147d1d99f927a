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
    if (params.user_id !== user.id) {
      if (!(await users.findById(params.user_id))) throw notFound(`user ${params.user_id} does not exist`);
      throw forbidden('you can only delete your own account');
    }
    if (!(await users.remove(user.id))) throw notFound(`user ${params.user_id} does not exist`);
    log.event('userDeleted', { user_id: user.id });
    return undefined;
  },
});

export const handler = lambda(deleteUser);
