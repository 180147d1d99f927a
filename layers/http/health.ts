// The health-check route every service exposes: can this instance reach its database, quickly?
import { config } from '../config';
import { withDeadline } from '../db/availability';
import type { Database } from '../db/pool';
import { route } from './route';
import { HealthReport } from './schemas';

export function healthCheckRoute(options: { summary: string; database: () => Database }) {
  return route({
    method: 'GET',
    url: '/health-check',
    summary: options.summary,
    tags: ['health'],
    auth: 'none',
    database: false,
    schema: { response: { 200: HealthReport, 503: HealthReport } },
    async handle({ reply, log }) {
      try {
        await withDeadline(options.database().one('SELECT 1 AS ok'), config().healthProbeTimeoutMs);
        return { status: 'ok', checks: { database: 'ok' } };
      } catch (err) {
        log.warn('health check failed', { check: 'database', reason: (err as Error).message });
        reply.code(503).header('retry-after', '1');
        return { status: 'unavailable', checks: { database: 'unavailable' } };
      }
    },
  });
}
