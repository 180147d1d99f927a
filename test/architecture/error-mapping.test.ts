// The http layer knows only HttpProblem and fastify's errors; a service's registry decides the rest.
import { UsernameTaken } from '../../layers/db/users';
import { ConfigError } from '../../layers/config/env';
import { configProblem } from '../../layers/config/problem';
import { databaseUnavailableProblem } from '../../layers/db/availability';
import { toProblem } from '../../layers/http/error-mapping';
import { HttpProblem } from '../../layers/problems';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('error mapping', () => {
  test('without a registry, only HttpProblem and fastify client errors keep their status; the rest is a 500', () => {
    expect(toProblem(new HttpProblem(404, 'gone')).status).toBe(404);
    expect(toProblem(Object.assign(new Error('bad'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }))).toMatchObject({
      status: 415,
      detail: 'unsupported content type',
    });
    for (const err of [new UsernameTaken('ada'), refused, new ConfigError('JWT_SECRET', 'JWT_SECRET must be set')]) {
      expect(toProblem(err)).toMatchObject({ status: 500, detail: 'internal error' });
    }
  });

  test('a registry maps its dependencies errors, first match wins', () => {
    const registry = [
      (err: unknown) => (err instanceof UsernameTaken ? new HttpProblem(409, err.message) : undefined),
      databaseUnavailableProblem,
      configProblem,
    ];
    expect(toProblem(new UsernameTaken('ada'), registry)).toMatchObject({ status: 409, detail: 'username "ada" is already taken' });
    expect(toProblem(refused, registry)).toMatchObject({ status: 503, detail: expect.stringMatching(/database/) });
    expect(toProblem(new ConfigError('JWT_SECRET', 'JWT_SECRET must be set'), registry)).toMatchObject({
      status: 503,
      detail: expect.stringMatching(/not configured/),
    });
    expect(toProblem(new Error('a bug'), registry).status).toBe(500);
  });
});
