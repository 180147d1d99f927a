// npm run settings: writes .env.example and the settings tables of docs/configuration.md and the README from the
// settings schemas (local/settings-docs.ts); `--check` only says which of them differ (exit 1), as the tests do.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderedFiles, ROOT } from '../settings-docs';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
const stale = renderedFiles().filter(({ file, content }) => readFileSync(join(ROOT, file), 'utf8') !== content);
if (values.check) {
  for (const { file } of stale) process.stderr.write(`${file} differs from the settings schemas: run npm run settings\n`);
  process.exit(stale.length > 0 ? 1 : 0);
}
for (const { file, content } of stale) {
  writeFileSync(join(ROOT, file), content);
  process.stdout.write(`wrote ${file}\n`);
}
if (stale.length === 0) process.stdout.write('.env.example, docs/configuration.md and README.md already follow the schemas\n');
