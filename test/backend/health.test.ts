import { handler as healthCheck } from '../../functions/health/check';
import { invoke } from '../support/lambda';

test('GET /health-check answers 200 ok when the database answers', async () => {
  const res = await invoke(healthCheck, { method: 'GET', path: '/health-check' });
  expect(res.status).toBe(200);
  expect(res.json).toEqual({ status: 'ok', checks: { database: 'ok' } });
});
