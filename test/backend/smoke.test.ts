import { handler as list } from '../../functions/users/list';
import { invoke } from '../support/lambda';
import { createUser } from '../support/users';

test('smoke', async () => {
  const u = await createUser();
  const r = await invoke(list, { method: 'GET', path: '/users', headers: u.auth, query: { limit: '5' } });
  console.error(r.status, r.text, r.headers);
  expect(r.status).toBe(200);
});
