// GET /user/{id}: JWT check plus one indexed read, the backend's typical authenticated request.
import type { LoadScenario } from './scenario';

export const userGet: LoadScenario = {
  id: 'user-get',
  title: 'GET /user/{id}',
  spec: (base, user) => ({ url: `${base}/user/${user.id}`, headers: { authorization: `Bearer ${user.token}` } }),
};
