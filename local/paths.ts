// Where the repository and the local runner's folders are.
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..');
/** The default state dir (LOCAL_STATE_DIR) and log dir of a local run. */
export const DEFAULT_STATE_DIR = join(ROOT, 'local', '.data');
export const DEFAULT_LOG_DIR = join(ROOT, 'local', 'logs');
