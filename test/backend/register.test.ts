import { handler as register } from '../../functions/auth/register';
import { captureLogs, invoke } from '../support/lambda';
import { uniqueName } from '../support/users';

const post = (body: unknown, headers: Record<string, string> = {}) => invoke(register, { method: 'POST', path: '/register', body, headers });

describe('POST /register', () => {
  test('creates a user and answers 201 with its public fields only', async () => {
    const username = uniqueName('reg');
    const res = await post({ username, password: 'long enough password' });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), username, created_at: expect.any(String) });
    expect(Number.isNaN(Date.parse(res.json.created_at))).toBe(false);
    expect(res.text).not.toContain('password');
  });

  test('logs user.registered with the user id and request id, and never the password', async () => {
    const logs = captureLogs();
    const password = 'secret-Register-pw-1';
    const res = await invoke(register, {
      method: 'POST',
      path: '/register',
      headers: { 'x-request-id': 'req-register-1' },
      body: { username: uniqueName('log'), password },
    });
    logs.restore();
    expect(res.status).toBe(201);
    expect(res.headers['x-request-id']).toBe('req-register-1');
    const [event] = logs.events('user.registered');
    expect(event).toMatchObject({ user_id: res.json.id, request_id: 'req-register-1', service: 'app-backend', level: 'INFO' });
    expect(event.timestamp).toEqual(expect.any(String));
    expect(logs.raw.join('')).not.toContain(password);
  });

  test.each([
    ['a username that is too short', { username: 'ab', password: 'password123' }],
    ['a username that is too long', { username: 'a'.repeat(33), password: 'password123' }],
    ['a username with spaces', { username: 'bad name', password: 'password123' }],
    ['a username with non-ASCII letters', { username: 'jürgen', password: 'password123' }],
    ['a password under 8 bytes', { username: 'someone', password: 'short' }],
    ['a password over 72 characters', { username: 'someone', password: 'x'.repeat(73) }],
    ['a number for the username', { username: 12345, password: 'password123' }],
    ['a number for the password', { username: 'someone', password: 12345678 }],
    ['a missing password', { username: 'someone' }],
    ['an unknown field', { username: 'someone', password: 'password123', admin: true }],
    ['an array body', [{ username: 'someone', password: 'password123' }]],
    ['null', null],
  ])('refuses %s with 400 problem+json', async (_, body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({ title: 'Bad Request', status: 400, detail: expect.any(String) });
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  test('refuses a password of 37 two-byte characters (74 bytes) instead of truncating it', async () => {
    const res = await post({ username: uniqueName('utf'), password: 'é'.repeat(37) });
    expect(res.status).toBe(400);
    expect(res.json.detail).toMatch(/72 bytes/);
  });

  test('accepts a password of exactly 72 bytes', async () => {
    const res = await post({ username: uniqueName('max'), password: 'é'.repeat(36) });
    expect(res.status).toBe(201);
  });

  test('refuses malformed JSON with 400', async () => {
    const res = await invoke(register, {
      method: 'POST',
      path: '/register',
      rawBody: '{"username": "abc", "password": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  test('refuses an unsupported content type with 415', async () => {
    const res = await invoke(register, {
      method: 'POST',
      path: '/register',
      rawBody: '<user/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(res.status).toBe(415);
    expect(res.json.status).toBe(415);
  });

  test('answers 409 for a taken username, whatever its case', async () => {
    const username = uniqueName('Taken');
    expect((await post({ username, password: 'password123' })).status).toBe(201);
    const again = await post({ username: username.toUpperCase(), password: 'password456' });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ title: 'Conflict', status: 409 });
  });

  test('30 parallel registrations of one username: exactly one 201, the rest 409', async () => {
    const username = uniqueName('race');
    const answers = await Promise.all(Array.from({ length: 30 }, () => post({ username, password: 'password123' })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(29);
  });
});

test('explains a username that breaks the pattern in words, not with the regular expression', async () => {
  const res = await invoke(register, { method: 'POST', path: '/register', body: { username: 'bad name!', password: 'password123' } });
  expect(res.status).toBe(400);
  expect(res.json.detail).toBe('body/username is invalid: 3 to 32 characters of A-Z a-z 0-9 _ . - (unique, case-insensitive)');
});
