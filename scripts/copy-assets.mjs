// After `tsc`: copies every src/**/*.lua to the same path under dist/src/, where the compiled code
// looks for it (next to its own __dirname). tsc copies only what it compiles. No dependencies.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src');
const target = join(root, 'dist', 'src');

let copied = 0;
for (const entry of readdirSync(source, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.lua')) continue;
  const from = join(entry.parentPath, entry.name);
  const to = join(target, relative(source, from));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  copied += 1;
}
if (copied === 0) {
  process.stderr.write('copy-lua: no .lua file under src/; the Redis scripts would be missing from dist/\n');
  process.exit(1);
}
