// npm start (and npm run dev, with --dev): the whole stack in the foreground until Ctrl-C (local/foreground.ts).
// Every setting of every service is checked first: a bad one stops it at once, named, before anything starts.
import { parseArgs } from 'node:util';
import { loadDotenv } from '../dotenv';
import { localRunProblems, SettingsProblems } from '../settings';

loadDotenv();
const { values } = parseArgs({ options: { dev: { type: 'boolean', default: false } } });
const problems = localRunProblems(process.env);
if (problems.length > 0) {
  process.stderr.write(`npm start: ${new SettingsProblems(problems).message}\n`);
  process.exit(1);
}
// Loaded only once the settings are known to be good: the stack's modules take a moment to load.
void import('../foreground').then(({ runInForeground }) => runInForeground(values.dev));
