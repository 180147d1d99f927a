// bcrypt shares libuv's thread pool with pg's SCRAM handshake: passwords.verify keeps a thread free for it.
import bcrypt from 'bcrypt';
import { passwords, settings } from '../../functions/deps';

describe('password checks under load', () => {
  afterEach(() => jest.restoreAllMocks());

  it('runs at most bcryptConcurrency compares at once and answers every caller', async () => {
    const hash = await bcrypt.hash('correct horse battery', settings().bcryptCost);
    const compare = bcrypt.compare.bind(bcrypt) as (data: string, encrypted: string) => Promise<boolean>;
    let inFlight = 0;
    let most = 0;
    jest.spyOn(bcrypt, 'compare').mockImplementation((async (data: string, encrypted: string) => {
      most = Math.max(most, ++inFlight);
      try {
        return await compare(data, encrypted);
      } finally {
        inFlight--;
      }
    }) as typeof bcrypt.compare);

    const attempts = Array.from({ length: 12 }, (_, i) => passwords.verify(i % 2 ? 'correct horse battery' : 'wrong horse battery', hash));
    const results = await Promise.all(attempts);

    expect(settings().bcryptConcurrency).toBe(3); // libuv's default pool of 4, one thread left free
    expect(most).toBe(settings().bcryptConcurrency);
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => i % 2 === 1));
  });
});
