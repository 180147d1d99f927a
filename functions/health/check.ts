// GET /health-check: is this instance able to serve (can it reach its database, quickly)?
import { config } from '../../layers/config';
import { withDeadline } from '../../layers/db/availability';
import { appDatabase } from '../../layers/db/pool';
import { lambda, route } from '../../layers/http/route';
import { HealthReport } from '../../layers/http/schemas';

export const healthCheck = route({
  method: 'GET',
  url: '/health-check',
  summary: 'Health of this backend instance and its database',
  tags: ['health'],
  auth: 'none',
  database: false,
  schema: { response: { 200: HealthReport, 503: HealthReport } },
  async handle({ reply, log }) {
    try {
      await withDeadline(appDatabase().one('SELECT 1 AS ok'), config().healthProbeTimeoutMs);
      return { status: 'ok', checks: { database: 'ok' } };
    } catch (err) {
      log.warn('health check failed', { check: 'database', reason: (err as Error).message });
      reply.code(503).header('retry-after', '1');
      return { status: 'unavailable', checks: { database: 'unavailable' } };
    }
  },
});

export const handler = lambda(healthCheck);
