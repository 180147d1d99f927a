// GET /health-check: can this weather service instance reach its database, quickly?
import { healthCheckRoute } from '../../layers/http/health';
import { lambda, probeWeatherDatabase } from './deps';

export const healthCheck = healthCheckRoute({ summary: 'Health of this weather service instance and its database', probeDatabase: probeWeatherDatabase });

export const handler = lambda('healthCheck', healthCheck);
