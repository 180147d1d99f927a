// GET /openapi.json and GET /docs: the OpenAPI 3 document, generated from the route schemas, and Swagger UI.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../layers/http/app';
import { backendAppOptions, lambda, settings } from '../deps';
import { backendRoutes } from '../routes';

async function documentation(app: FastifyInstance, publicUrl: () => string) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Weather & users API',
        version: '1.0.0',
        description: 'Register, log in with the OAuth2 password flow, manage users and read the weather. ' + 'Errors are application/problem+json (RFC 9457).',
      },
      servers: [{ url: publicUrl(), description: 'This deployment' }],
      components: {
        securitySchemes: {
          OAuth2PasswordBearer: { type: 'oauth2', flows: { password: { tokenUrl: '/token', scopes: {} } } },
        },
      },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: false, tryItOutEnabled: true },
    staticCSP: true,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

/** The documented app: every backend route plus the documentation routes (the base of `npm run openapi`). */
export const buildDocumentedApp = (publicUrl = () => settings().publicUrl) =>
  buildApp(backendRoutes, { ...backendAppOptions('docs'), setup: (app) => documentation(app, publicUrl) });

export const handler = lambda('docs', backendRoutes, { setup: (app) => documentation(app, () => settings().publicUrl) });
