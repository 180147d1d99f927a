// The health-check route every service exposes: can this instance reach its dependency, quickly?
import { route } from './route';
import { HealthReport } from './schemas';

export interface HealthCheckOptions {
  summary: string;
  /** Resolves when the database answered within its deadline, rejects otherwise. */
  probeDatabase: () => Promise<unknown>;
}

export function healthCheckRoute(options: HealthCheckOptions) {
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
        await options.probeDatabase();
        return { status: 'ok', checks: { database: 'ok' } };
      } catch (err) {
        log.warn('health check failed', { check: 'database', reason: (err as Error).message });
        reply.code(503).header('retry-after', '1');
        return { status: 'unavailable', checks: { database: 'unavailable' } };
      }
    },
  });
}
