import { handler as docs } from '../../functions/docs/openapi';
import { handler as notFound } from '../../functions/fallback/not-found';
import { backendRoutes } from '../../functions/routes';
import { invoke } from '../support/lambda';

const get = (path: string) => invoke(docs, { method: 'GET', path });

describe('GET /openapi.json', () => {
  let doc: any;
  beforeAll(async () => {
    const res = await get('/openapi.json');
    expect(res.status).toBe(200);
    doc = res.json;
  });

  test('is an OpenAPI 3 document with servers and the OAuth2 password scheme', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.servers).toEqual([expect.objectContaining({ url: expect.any(String) })]);
    expect(doc.components.securitySchemes.OAuth2PasswordBearer).toEqual({
      type: 'oauth2',
      flows: { password: { tokenUrl: '/token', scopes: {} } },
    });
  });

  test('documents every route with a summary, its security and every status it can answer', () => {
    for (const route of backendRoutes) {
      const path = route.url.replace(/:([a-z_]+)/g, '{$1}');
      const op = doc.paths[path]?.[route.method.toLowerCase()];
      expect({ route: `${route.method} ${path}`, found: !!op }).toEqual({ route: `${route.method} ${path}`, found: true });
      expect(op.summary).toBeTruthy();
      expect(op.security).toEqual(route.auth === 'required' ? [{ OAuth2PasswordBearer: [] }] : []);
      const statuses = Object.keys(op.responses).map(Number);
      if (route.auth === 'required') expect(statuses).toContain(401);
      for (const status of statuses.filter((s) => s >= 400 && !(route.url === '/health-check'))) {
        const content = op.responses[status].content;
        expect(Object.keys(content)).toEqual(['application/problem+json']);
        expect(content['application/problem+json'].schema.required).toEqual(expect.arrayContaining(['title', 'status', 'detail']));
      }
    }
  });

  test('carries the same limits the code enforces', () => {
    const body = doc.paths['/register'].post.requestBody.content['application/json'].schema;
    expect(body.properties.username).toMatchObject({ minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.-]{3,32}$' });
    expect(body.properties.password).toMatchObject({ minLength: 8, maxLength: 72 });
    expect(body.additionalProperties).toBe(false);
    const limit = doc.paths['/users'].get.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit.schema).toMatchObject({ minimum: 1, maximum: 1000, default: 100 });
    expect(Object.keys(doc.paths['/token'].post.requestBody.content)).toEqual(
      expect.arrayContaining(['application/x-www-form-urlencoded', 'application/json']),
    );
    expect(doc.paths['/register'].post.responses).toHaveProperty('429');
  });

  test('a parameter with a default is optional', () => {
    const parameters = doc.paths['/users'].get.parameters as { name: string; required?: boolean; schema: { default?: unknown } }[];
    const byName = Object.fromEntries(parameters.map((p) => [p.name, p]));
    expect(byName.limit).toMatchObject({ schema: { default: 100 } });
    expect(byName.offset).toMatchObject({ schema: { default: 0 } });
    expect([byName.limit.required ?? false, byName.offset.required ?? false]).toEqual([false, false]);
    expect(doc.paths['/user/{user_id}'].get.parameters.find((p: { name: string }) => p.name === 'user_id').required).toBe(true);
  });
});

describe('GET /docs', () => {
  test('serves Swagger UI from local assets', async () => {
    const page = await get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).not.toMatch(/https?:\/\/(cdn|unpkg)/);
    const script = await get('/docs/static/swagger-ui-bundle.js');
    expect(script.status).toBe(200);
    expect(script.text.length).toBeGreaterThan(100_000);
    expect(page.text).toContain('swagger-ui-bundle.js');
  });
});

describe('unknown routes', () => {
  test('an unknown path answers 404 problem+json', async () => {
    const res = await invoke(notFound, { method: 'GET', path: '/no/such/thing' });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  test.each([
    ['PUT', '/users', 'GET, HEAD'],
    ['POST', '/health-check', 'GET, HEAD'],
    ['GET', '/register', 'POST'],
    ['PATCH', '/user/5b3c1b1e-0d7e-4a53-9d1a-4d7b3a9f0c11', 'GET, DELETE, HEAD'],
  ])('%s %s answers 405 with Allow: %s', async (method, path, allow) => {
    const res = await invoke(notFound, { method, path });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.json).toMatchObject({ status: 405, title: 'Method Not Allowed' });
  });
});
