// Local runs read a .env file at the repository root when there is one; a variable already set wins.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DOTENV_FILE = join(resolve(__dirname, '..'), '.env');

/** Loads DOTENV_FILE (Node's own parser) into process.env without overriding what the environment sets. */
export function loadDotenv(file = DOTENV_FILE): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
