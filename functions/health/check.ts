// GET /health-check: is this instance able to serve (can it reach its database, quickly)?
import { healthCheckRoute } from '../../layers/http/health';
import { lambda, probeAppDatabase } from '../deps';

export const healthCheck = healthCheckRoute({ summary: 'Health of this backend instance and its database', probeDatabase: probeAppDatabase });

export const handler = lambda('healthCheck', healthCheck);
