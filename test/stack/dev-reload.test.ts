// npm run dev: an edited layer is served through HAProxy by the next requests, without restarting Postgres,
// HAProxy or the instances. The dev stack runs from a scratch copy of the tree, so the working tree is never edited.
import { join } from 'node:path';
import { settings } from '../../functions/deps';
import { settings as weatherSettings } from '../../functions/weather/deps';
import { millisUntil, NOT_FOUND_TEXT, notFoundDetail, replaceInSources, startScratchDevStack, type ScratchDevStack } from '../support/dev-scratch';
import { isAlive } from '../../local/processes';

jest.setTimeout(300_000);

let dev: ScratchDevStack;

beforeAll(async () => {
  dev = await startScratchDevStack({
    env: { DATABASE_URL: settings().databaseUrl, WEATHER_DATABASE_URL: weatherSettings().weatherDatabaseUrl },
    tag: `dev-test-${process.pid}`,
  });
});

afterAll(async () => {
  await dev?.stop();
});

test('an edited layer answers through HAProxy within a generous deadline, and no process was restarted', async () => {
  expect(await notFoundDetail(dev.urls.api)).toMatch(/^no route for GET \/no-such-route/);
  const before = { ...dev.pids };

  for (const round of [1, 2]) {
    const marker = `no route (edit ${round}) for `;
    replaceInSources(join(dev.root, 'layers'), round === 1 ? NOT_FOUND_TEXT : '`no route (edit 1) for ', `\`${marker}`);
    // Every instance must serve it: several answers in a row, spread round robin over both backends.
    const ms = await millisUntil(async () => {
      const details = await Promise.all([1, 2, 3, 4].map(() => notFoundDetail(dev.urls.api)));
      return details.every((detail) => detail.startsWith(marker));
    }, 30_000);
    console.log(`dev reload ${round}: the edited layer was served after ${Math.round(ms)} ms`);
  }

  expect(dev.pids).toEqual(before);
  for (const pid of Object.values(before)) expect(isAlive(pid!)).toBe(true);
});
