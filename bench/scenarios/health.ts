// GET /health-check: the smallest request, so mostly the runtime's and the ingress's own cost.
import type { LoadScenario } from './scenario';

export const health: LoadScenario = {
  id: 'health',
  title: 'GET /health-check',
  spec: (base) => ({ url: `${base}/health-check` }),
};
