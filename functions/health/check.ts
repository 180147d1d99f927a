// GET /health-check: is this instance able to serve (can it reach its database, quickly)?
import { appDatabase } from '../../layers/db/pool';
import { healthCheckRoute } from '../../layers/http/health';
import { lambda } from '../../layers/http/route';

export const healthCheck = healthCheckRoute({ summary: 'Health of this backend instance and its database', database: appDatabase });

export const handler = lambda(healthCheck);
