// The client address every route is handed (layers/http/client-address.ts). With an edge proof configured
// (EDGE_PROOF_SECRET, set by the local runner), a request without it is refused before anything else, on every route
// of both services, and the address is the one X-Forwarded-For the edge set; without one, it is the connection's.
const EDGE_PROOF = 'edge-proof-of-this-test-file-0123456789';
process.env.EDGE_PROOF_SECRET = EDGE_PROOF;

import { handler as docs } from '../../functions/docs/openapi';
import { handler as notFound } from '../../functions/fallback/not-found';
import { handler as health } from '../../functions/health/check';
import { handler as register } from '../../functions/auth/register';
import { handler as token } from '../../functions/auth/token';
import { handler as listUsers } from '../../functions/users/list';
import { handler as getUser } from '../../functions/users/get';
import { handler as weatherProxy } from '../../functions/weather-proxy/get';
import { handler as weatherHealth } from '../../functions/weather/health';
import { handler as weather } from '../../functions/weather/get';
import { addressKeys, canonicalAddress } from '../../layers/ip-address';
import { invoke, type Call } from '../support/lambda';
import { uniqueName } from '../support/users';

type Handler = Parameters<typeof invoke>[0];
const proved = { 'x-edge-proof': EDGE_PROOF };
const through = (address: string) => ({ ...proved, 'x-forwarded-for': address });

const ROUTES: Array<[string, Handler, Call]> = [
  ['POST /token', token, { method: 'POST', path: '/token', form: { username: 'someone', password: 'a password' } }],
  ['POST /register', register, { method: 'POST', path: '/register', body: { username: uniqueName('r'), password: 'a password' } }],
  ['GET /health-check', health, { method: 'GET', path: '/health-check' }],
  ['GET /users (before its 401)', listUsers, { method: 'GET', path: '/users' }],
  ['GET /user/{id}', getUser, { method: 'GET', path: '/user/x', pathParameters: { user_id: 'x' } }],
  ['GET /weather/{city} (the proxy)', weatherProxy, { method: 'GET', path: '/weather/London', pathParameters: { city: 'London' } }],
  ['GET /openapi.json', docs, { method: 'GET', path: '/openapi.json' }],
  ['an unknown route', notFound, { method: 'GET', path: '/nothing/here' }],
  ['a malformed URL', notFound, { method: 'GET', path: '/user/%zz' }],
  ["the weather service's /health-check", weatherHealth, { method: 'GET', path: '/health-check' }],
  ["the weather service's /weather/{city} (before its 401)", weather, { method: 'GET', path: '/weather/London', pathParameters: { city: 'London' } }],
];

describe('with an edge proof configured', () => {
  test.each(ROUTES)('%s without the proof is 403 problem+json "requests must come through the edge"', async (_, handler, call) => {
    const refused: Record<string, string>[] = [
      {},
      { 'x-edge-proof': 'a guess' },
      { 'x-edge-proof': `${EDGE_PROOF},${EDGE_PROOF}` },
      { 'x-forwarded-for': '127.0.0.1' },
    ];
    for (const headers of refused) {
      const res = await invoke(handler, { ...call, headers: { ...call.headers, ...headers } });
      expect(`${res.status} ${res.headers['content-type']}`).toBe('403 application/problem+json');
      expect(res.json).toMatchObject({ status: 403, title: 'Forbidden', detail: 'requests must come through the edge' });
    }
  });

  test.each(['', '198.51.100.1, 198.51.100.2', 'unknown', '198.51.100.1:5000'])(
    'a proved request whose X-Forwarded-For is %p (not exactly one address) is 400',
    async (forwarded) => {
      const res = await invoke(health, { method: 'GET', path: '/health-check', headers: forwarded ? through(forwarded) : proved });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    },
  );

  test('a proved request with one forwarded address is served', async () => {
    expect((await invoke(health, { method: 'GET', path: '/health-check', headers: through('198.51.100.7') })).status).toBe(200);
    expect((await invoke(weatherHealth, { method: 'GET', path: '/health-check', headers: through('2001:db8::7') })).status).toBe(200);
  });

  test("the login throttle counts the address the edge forwarded, not the event's sourceIp", async () => {
    const [edgeSaid, other] = ['198.51.100.20', '198.51.100.21'];
    const name = uniqueName('ghost');
    const tryFrom = (forwarded: string, sourceIp: string) =>
      invoke(token, { method: 'POST', path: '/token', form: { username: name, password: 'wrong guess' }, headers: through(forwarded), sourceIp });
    for (let i = 0; i < 5; i++) expect((await tryFrom(edgeSaid, `10.0.0.${i}`)).status).toBe(401);
    expect((await tryFrom(edgeSaid, '10.0.0.99')).status).toBe(429);
    expect((await tryFrom(other, '10.0.0.1')).status).toBe(401);
  });
});

describe('canonical addresses and what they are counted as', () => {
  test.each([
    ['192.0.2.1', '192.0.2.1', { address: '192.0.2.1' }],
    [' 192.0.2.1 ', '192.0.2.1', { address: '192.0.2.1' }],
    ['::ffff:192.0.2.1', '192.0.2.1', { address: '192.0.2.1' }],
    ['::FFFF:c000:201', '192.0.2.1', { address: '192.0.2.1' }],
    ['2001:DB8::1', '2001:db8:0:0:0:0:0:1', { address: '2001:db8:0:0::/64', network: '2001:db8:0::/48' }],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6', { address: '2001:db8:1:2::/64', network: '2001:db8:1::/48' }],
    ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1', { address: 'fe80:0:0:0::/64', network: 'fe80:0:0::/48' }],
  ])('%p is %p, counted as %o', (text, canonical, keys) => {
    expect(canonicalAddress(text)).toBe(canonical);
    expect(addressKeys(canonicalAddress(text)!)).toEqual(keys);
  });

  test.each(['', '1.2.3', '1.2.3.4, 5.6.7.8', '1.2.3.4:80', '[::1]', 'localhost', '::g', '1.2.3.256'])('%p is no address', (text) => {
    expect(canonicalAddress(text)).toBeUndefined();
  });
});
