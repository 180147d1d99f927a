// docs/openapi.json and docs/api.http are generated (npm run openapi): the committed copies must match the code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_HTTP, DOCS_DIR, openApiDocument } from '../../local/bin/openapi';

describe('npm run openapi', () => {
  test('the committed docs/openapi.json is what the routes generate (run npm run openapi after changing a route)', async () => {
    const committed = readFileSync(join(DOCS_DIR, 'openapi.json'), 'utf8');
    const generated = await openApiDocument();
    expect(JSON.parse(committed)).toEqual(JSON.parse(generated));
    expect(committed).toBe(generated);
  });

  test('the generated document describes the backend and points servers at its own origin', async () => {
    const doc = JSON.parse(await openApiDocument());
    expect(doc.servers).toEqual([{ url: '/', description: 'This deployment' }]);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/register', '/token', '/users', '/user/{user_id}', '/weather/{city}', '/health-check']));
  });

  test('the committed docs/api.http is the generated tour: register, token, users, user, weather', () => {
    const committed = readFileSync(join(DOCS_DIR, 'api.http'), 'utf8');
    expect(committed).toBe(API_HTTP);
    const requests = [...committed.matchAll(/^(GET|POST|DELETE) \{\{baseUrl\}\}(\/[a-z-]+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(requests).toEqual(['POST /register', 'POST /token', 'GET /users', 'GET /user', 'GET /weather', 'DELETE /user']);
  });
});
