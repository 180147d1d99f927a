// This file fails logins for one user many times on purpose; the throttle is tested in login-throttle.test.ts.
process.env.LOGIN_THROTTLE_FAILURES = '1000';
process.env.LOGIN_ACCOUNT_SLOWDOWN_FAILURES = '1000';

import jwt from 'jsonwebtoken';
import { handler as token } from '../../functions/auth/token';
import { captureLogs, invoke } from '../support/lambda';
import { createUser, type TestUser } from '../support/users';

const postForm = (form: Record<string, string>, headers: Record<string, string> = {}) => invoke(token, { method: 'POST', path: '/token', form, headers });

let alice: TestUser;
beforeAll(async () => {
  alice = await createUser('alice');
});

describe('POST /token', () => {
  test('issues an HS256 bearer token with sub, iat, exp and iss for the form-encoded password flow', async () => {
    const res = await postForm({ username: alice.username, password: alice.password });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 3600, device_token: expect.any(String) });
    const decoded = jwt.decode(res.json.access_token, { complete: true }) as jwt.Jwt;
    expect(decoded.header.alg).toBe('HS256');
    const claims = decoded.payload as jwt.JwtPayload;
    expect(claims.sub).toBe(alice.id);
    expect(claims.iss).toBe('weather-users-platform');
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  test('accepts JSON credentials too', async () => {
    const res = await invoke(token, { method: 'POST', path: '/token', body: { username: alice.username, password: alice.password } });
    expect(res.status).toBe(200);
    expect(res.json.token_type).toBe('bearer');
  });

  test('logs in case-insensitively', async () => {
    const res = await postForm({ username: alice.username.toUpperCase(), password: alice.password });
    expect(res.status).toBe(200);
  });

  test('tolerates what OAuth2 clients send: grant_type, scope, client credentials, Basic auth', async () => {
    const res = await postForm(
      { grant_type: 'password', username: alice.username, password: alice.password, scope: '', client_id: '', client_secret: '' },
      { authorization: `Basic ${Buffer.from(':').toString('base64')}` },
    );
    expect(res.status).toBe(200);
  });

  test('refuses another grant type with 400', async () => {
    const res = await postForm({ grant_type: 'client_credentials', username: alice.username, password: alice.password });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  test('answers an unknown user and a wrong password with the same 401 and WWW-Authenticate: Bearer', async () => {
    const wrong = await postForm({ username: alice.username, password: 'not the password' });
    const unknown = await postForm({ username: 'nobody_here_at_all', password: 'not the password' });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const { request_id: _a, ...wrongBody } = wrong.json;
    const { request_id: _b, ...unknownBody } = unknown.json;
    expect(wrongBody).toEqual(unknownBody);
  });

  test('an unknown user costs a bcrypt comparison like a wrong password does', async () => {
    const time = async (username: string) => {
      const start = process.hrtime.bigint();
      await postForm({ username, password: 'not the password' });
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    await time('warm_up_user'); // the dummy hash is made on first use
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      wrong.push(await time(alice.username));
      unknown.push(await time(`ghost_${i}`));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[2];
    // Not a speed target: an unknown user that skipped bcrypt would be ~10x faster than a wrong password.
    expect(median(unknown)).toBeGreaterThan(median(wrong) / 3);
  });

  test('refuses a password over 72 bytes as a failed login, without truncating it to a match', async () => {
    const res = await postForm({ username: alice.username, password: alice.password + 'x'.repeat(80) });
    expect(res.status).toBe(401);
  });

  test.each([
    ['a missing password', { username: 'someone' }],
    ['a missing username', { password: 'password123' }],
    ['an empty username', { username: '', password: 'password123' }],
  ])('refuses %s with 400', async (_, form) => {
    const res = await postForm(form as Record<string, string>);
    expect(res.status).toBe(400);
  });

  test('refuses a JSON number for the password with 400 (no coercion)', async () => {
    const res = await invoke(token, { method: 'POST', path: '/token', body: { username: alice.username, password: 12345678 } });
    expect(res.status).toBe(400);
  });

  test('logs login successes and failures with the username, never the password or the token', async () => {
    const logs = captureLogs();
    const ok = await postForm({ username: alice.username, password: alice.password });
    await postForm({ username: alice.username, password: 'wrong password!' });
    await postForm({ username: 'ghost_user_x', password: 'wrong password!' });
    logs.restore();
    expect(logs.events('auth.login_succeeded')).toEqual([expect.objectContaining({ username: alice.username, request_id: expect.any(String) })]);
    expect(logs.events('auth.login_failed')).toEqual([
      expect.objectContaining({ username: alice.username, reason: 'wrong_password', level: 'INFO' }),
      // A name without an account is not logged as sent: it may be a password typed into the wrong field.
      expect.objectContaining({ username: 'unknown', reason: 'unknown_user' }),
    ]);
    const all = logs.raw.join('');
    expect(all).not.toContain(alice.password);
    expect(all).not.toContain('wrong password!');
    expect(all).not.toContain(ok.json.access_token);
  });

  test.each([
    ['a success', () => postForm({ username: alice.username, password: alice.password }), 200],
    ['a wrong password', () => postForm({ username: alice.username, password: 'not the password' }), 401],
    ['a malformed request', () => postForm({ username: alice.username }), 400],
    ['a text/plain body', () => invoke(token, { method: 'POST', path: '/token', rawBody: 'x', headers: { 'content-type': 'text/plain' } }), 400],
  ])('answers %s with Cache-Control: no-store and Pragma: no-cache (RFC 6749 5.1)', async (_, send, status) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
  });

  test.each([
    ['a password typed into the username field', 'correct horse battery staple'],
    ['control characters', 'evil\u001b[2J\u0007name'],
    ['a name too long to register', 'x'.repeat(200)],
    ['a password that looks like a username', 'Hunter2Summer2024'],
  ])('logs the username of a failed login as "unknown" when it is %s', async (_, username) => {
    const logs = captureLogs();
    const res = await postForm({ username, password: 'whatever it is' });
    logs.restore();
    expect(res.status).toBe(401);
    expect(logs.events('auth.login_failed')).toEqual([expect.objectContaining({ username: 'unknown', reason: 'unknown_user' })]);
    expect(logs.raw.join('')).not.toContain(username);
    expect(logs.raw.join('')).not.toContain('\u001b'); // neither raw nor JSON-escaped
    expect(logs.raw.join('')).not.toContain('\\u001b');
  });
});
