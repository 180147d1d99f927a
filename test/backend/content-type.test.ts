// A POST without Content-Type is refused with 415 problem+json before its body is read: nothing is stored.
import { handler as register } from '../../functions/auth/register';
import { handler as token } from '../../functions/auth/token';
import { users } from '../../functions/deps';
import { invoke } from '../support/lambda';
import { uniqueName } from '../support/users';

describe('a POST without Content-Type', () => {
  test('POST /register answers 415 problem+json and creates no user', async () => {
    const username = uniqueName('notype');
    const res = await invoke(register, { method: 'POST', path: '/register', rawBody: JSON.stringify({ username, password: 'password123' }) });
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({ status: 415, title: 'Unsupported Media Type', detail: expect.stringMatching(/Content-Type/) });
    expect(await users.findByName(username)).toBeNull();
  });

  test('POST /token answers 415 problem+json', async () => {
    const res = await invoke(token, { method: 'POST', path: '/token', rawBody: 'username=someone&password=password123' });
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  test('an empty POST without Content-Type is 415 too, not a 400 about the body', async () => {
    const res = await invoke(register, { method: 'POST', path: '/register' });
    expect(res.status).toBe(415);
  });

  test('the same body with Content-Type: application/json is accepted', async () => {
    const username = uniqueName('typed');
    const res = await invoke(register, { method: 'POST', path: '/register', body: { username, password: 'password123' } });
    expect(res.status).toBe(201);
    expect(await users.findByName(username)).toMatchObject({ username });
  });
});
