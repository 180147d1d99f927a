// The cold-start floor: a bare fastify app behind @fastify/aws-lambda, bundled the same way as the functions
// (bench/scenarios/cold-starts.ts), so a function's cold start can be read as a ratio to what the framework costs.
import awsLambdaFastify from '@fastify/aws-lambda';
import Fastify from 'fastify';

const app = Fastify();
app.get('/health-check', async () => ({ status: 'ok' }));

export const handler = awsLambdaFastify(app);
