import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { handler as deleteUser } from '../../functions/users/delete';
import { handler as getUser } from '../../functions/users/get';
import { handler as listUsers } from '../../functions/users/list';
import { settings } from '../../functions/deps';
import { captureLogs, invoke } from '../support/lambda';
import { createUser, type TestUser } from '../support/users';

let alice: TestUser;
let bob: TestUser;
beforeAll(async () => {
  alice = await createUser('alice');
  bob = await createUser('bob');
});

const list = (headers: Record<string, string>, query: Record<string, string> = {}) => invoke(listUsers, { method: 'GET', path: '/users', headers, query });
const get = (id: string, headers: Record<string, string>) => invoke(getUser, { method: 'GET', path: `/user/${id}`, headers, pathParameters: { user_id: id } });
const remove = (id: string, headers: Record<string, string>) =>
  invoke(deleteUser, { method: 'DELETE', path: `/user/${id}`, headers, pathParameters: { user_id: id } });

describe('GET /users', () => {
  test('lists users in creation order with public fields only', async () => {
    const res = await list(alice.auth, { limit: '1000' });
    expect(res.status).toBe(200);
    const ids = res.json.map((u: { id: string }) => u.id);
    expect(ids.indexOf(alice.id)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(alice.id)).toBeLessThan(ids.indexOf(bob.id));
    const times = res.json.map((u: { created_at: string }) => Date.parse(u.created_at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(Object.keys(res.json[0]).sort()).toEqual(['created_at', 'id', 'username']);
  });

  test('pages with limit and offset', async () => {
    const all = (await list(alice.auth, { limit: '1000' })).json;
    const page = await list(alice.auth, { limit: '2', offset: '1' });
    expect(page.status).toBe(200);
    expect(page.json).toEqual(all.slice(1, 3));
  });

  test.each([['0'], ['1001'], ['-1'], ['abc'], ['1.5']])('refuses limit=%s with 400', async (limit) => {
    const res = await list(alice.auth, { limit });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  test('refuses a negative offset with 400', async () => {
    expect((await list(alice.auth, { offset: '-5' })).status).toBe(400);
  });

  test('requires a token', async () => {
    const res = await list({});
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });
});

describe('GET /user/{user_id}', () => {
  test('answers another user', async () => {
    const res = await get(bob.id, alice.auth);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ id: bob.id, username: bob.username, created_at: expect.any(String) });
  });

  test('answers 404 for an unknown id', async () => {
    const res = await get(randomUUID(), alice.auth);
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ status: 404, title: 'Not Found' });
  });

  test.each([['not-a-uuid'], ['1'], ["' OR 1=1 --"], ['00000000-0000-0000-0000-00000000000g']])('answers 400 for the malformed id %s', async (id) => {
    const res = await get(encodeURIComponent(id), alice.auth);
    expect(res.status).toBe(400);
  });
});

describe('authentication', () => {
  const sign = (payload: object, secret: string, options: jwt.SignOptions = {}) =>
    jwt.sign({ exp: Math.floor(Date.now() / 1000) + 600, ...payload }, secret, { algorithm: 'HS256', issuer: settings().jwtIssuer, ...options });

  test('accepts the scheme name in any case (RFC 7235)', async () => {
    expect((await get(alice.id, { authorization: `bearer ${alice.token}` })).status).toBe(200);
    expect((await get(alice.id, { authorization: `BEARER ${alice.token}` })).status).toBe(200);
  });

  test.each([
    ['no header', () => ({})],
    ['a Basic scheme', () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })],
    ['a bare token', () => ({ authorization: alice.token })],
    ['two Authorization headers (joined by API Gateway)', () => ({ authorization: `Bearer ${alice.token}, Bearer ${bob.token}` })],
    ['a token signed with another secret', () => ({ authorization: `Bearer ${sign({ sub: alice.id }, 'another secret that is long enough!!')}` })],
    ['an unsigned token (alg none)', () => ({ authorization: `Bearer ${jwt.sign({ sub: alice.id, iss: settings().jwtIssuer }, '', { algorithm: 'none' })}` })],
    ['an expired token', () => ({ authorization: `Bearer ${sign({ sub: alice.id, exp: Math.floor(Date.now() / 1000) - 10 }, settings().jwtSecret)}` })],
    ['a token from another issuer', () => ({ authorization: `Bearer ${sign({ sub: alice.id }, settings().jwtSecret, { issuer: 'someone-else' })}` })],
    ['a token without sub', () => ({ authorization: `Bearer ${sign({}, settings().jwtSecret)}` })],
    [
      'a changed payload with the old signature',
      () => {
        const [header, , signature] = alice.token.split('.');
        const payload = Buffer.from(JSON.stringify({ sub: bob.id, iss: settings().jwtIssuer, exp: 9999999999 })).toString('base64url');
        return { authorization: `Bearer ${header}.${payload}.${signature}` };
      },
    ],
  ])('refuses %s with 401', async (_, headers) => {
    const res = await get(alice.id, headers());
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  test('is judged before the request: a malformed id or query without a valid token is 401, not 400', async () => {
    for (const res of [await get('not-a-uuid', {}), await remove('not-a-uuid', { authorization: 'Bearer x.y.z' }), await list({}, { limit: '-1' })]) {
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
    expect((await get('not-a-uuid', alice.auth)).status).toBe(400);
  });
});

describe('DELETE /user/{user_id}', () => {
  test('refuses to delete somebody else with 403, and an unknown user with 404', async () => {
    expect((await remove(bob.id, alice.auth)).status).toBe(403);
    expect((await get(bob.id, alice.auth)).status).toBe(200);
    expect((await remove(randomUUID(), alice.auth)).status).toBe(404);
  });

  test('deletes your own account with 204, logs user.deleted, and your tokens stop working', async () => {
    const carol = await createUser('carol');
    const logs = captureLogs();
    const res = await remove(carol.id, carol.auth);
    logs.restore();
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(logs.events('user.deleted')).toEqual([expect.objectContaining({ user_id: carol.id, service: 'app-backend' })]);
    expect((await get(carol.id, alice.auth)).status).toBe(404);
    const after = await get(alice.id, carol.auth);
    expect(after.status).toBe(401);
    expect((await remove(carol.id, carol.auth)).status).toBe(401);
  });
});

describe('user ids', () => {
  test.each([
    ['a urn:uuid: prefix', (id: string) => `urn:uuid:${id}`],
    ['braces', (id: string) => `{${id}}`],
    ['no hyphens', (id: string) => id.replace(/-/g, '')],
    ['hyphens in other places', (id: string) => `${id.slice(0, 9)}${id.slice(9).replace(/-/g, '')}-`],
    ['surrounding spaces', (id: string) => ` ${id} `],
    ['an encoded trailing newline', (id: string) => `${id}%0A`],
    ['non-hex digits', (id: string) => `${id.slice(0, -1)}g`],
  ])('refuses an id with %s with 400 problem+json on GET and DELETE', async (_, spell) => {
    const id = spell(bob.id);
    for (const res of [await get(id, alice.auth), await remove(id, alice.auth)]) {
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json.detail).toMatch(/user_id/);
    }
  });

  test('finds a user by its id in upper case', async () => {
    const res = await get(bob.id.toUpperCase(), alice.auth);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: bob.id, username: bob.username });
    const own = await get(alice.id.toUpperCase(), alice.auth);
    expect(own.json).toMatchObject({ id: alice.id });
  });

  test('deletes your own account named by its id in upper case with 204', async () => {
    const dave = await createUser('dave');
    expect((await remove(dave.id.toUpperCase(), dave.auth)).status).toBe(204);
    expect((await get(dave.id, alice.auth)).status).toBe(404);
  });

  test("refuses somebody else's id in upper case with 403, not as your own", async () => {
    expect((await remove(bob.id.toUpperCase(), alice.auth)).status).toBe(403);
  });
});
