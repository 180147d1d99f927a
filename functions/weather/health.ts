// GET /health-check: can this weather service instance reach its database, quickly?
import { weatherDatabase } from '../../layers/db/pool';
import { healthCheckRoute } from '../../layers/http/health';
import { lambda } from '../../layers/http/route';

export const healthCheck = healthCheckRoute({ summary: 'Health of this weather service instance and its database', database: weatherDatabase });

export const handler = lambda(healthCheck);
