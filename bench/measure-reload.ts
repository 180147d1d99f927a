// npm run dev:measure: how long from saving an edited layer to the new answer through HAProxy, in dev mode.
// Starts a dev stack from a scratch copy of the tree (the working tree is never edited), edits the 404 detail
// in layers/http --rounds times, and prints each time and the median.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { millisUntil, NOT_FOUND_TEXT, notFoundDetail, replaceInSources, startScratchDevStack } from '../test/support/dev-scratch';

async function main() {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
  process.stdout.write('starting a dev stack from a scratch copy of the tree...\n');
  const dev = await startScratchDevStack({
    tag: `measure-${process.pid}`,
  });
  const times: number[] = [];
  try {
    let current = NOT_FOUND_TEXT;
    for (let round = 1; round <= rounds; round++) {
      const marker = `no route (edit ${round}) for `;
      replaceInSources(join(dev.root, 'layers'), current, `\`${marker}`);
      current = `\`${marker}`;
      // Saved → every backend instance answers with the new text (4 requests spread round robin).
      const ms = await millisUntil(
        async () => (await Promise.all([1, 2, 3, 4].map(() => notFoundDetail(dev.urls.api)))).every((d) => d.startsWith(marker)),
        30_000,
      );
      times.push(ms);
      process.stdout.write(`  edit ${round}: new code served through HAProxy after ${Math.round(ms)} ms\n`);
    }
  } finally {
    await dev.stop();
  }
  const sorted = [...times].sort((a, b) => a - b);
  process.stdout.write(
    `save → new answer: median ${Math.round(sorted[Math.floor(sorted.length / 2)])} ms, max ${Math.round(sorted[sorted.length - 1])} ms over ${rounds} edits\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`dev:measure failed: ${(err as Error).message}\n`);
  process.exit(1);
});
