// Reading the packaged zips without a system `unzip` (not every machine has one).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import JSZip from 'jszip';

/** The file names in a zip. */
export async function zipEntries(zip: string): Promise<string[]> {
  const archive = await JSZip.loadAsync(readFileSync(zip));
  return Object.values(archive.files)
    .filter((f) => !f.dir)
    .map((f) => f.name);
}

/** Unpacks a zip into dir: files 0644, folders 0755 (readable by the functions' user, writable only by us). */
export async function unpackZip(zip: string, dir: string): Promise<void> {
  const archive = await JSZip.loadAsync(readFileSync(zip));
  const root = resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o755 });
  for (const file of Object.values(archive.files)) {
    const target = resolve(root, file.name);
    if (!target.startsWith(root + sep)) throw new Error(`${zip}: entry ${file.name} points outside the task root`);
    if (file.dir) {
      mkdirSync(target, { recursive: true, mode: 0o755 });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    writeFileSync(target, await file.async('nodebuffer'), { mode: 0o644 });
  }
}
