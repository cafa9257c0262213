// After `tsc`: copies what the compiled code reads from next to its own __dirname, to the same path
// under dist/src/ — every src/**/*.lua (the Redis scripts) and every file under a src/**/public/
// folder (the dashboard's page, scripts and styles). tsc copies only what it compiles. No dependencies.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src');
const target = join(root, 'dist', 'src');

const copied = { lua: 0, public: 0 };
for (const entry of readdirSync(source, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const from = join(entry.parentPath, entry.name);
  const path = relative(source, from);
  const kind = entry.name.endsWith('.lua') ? 'lua' : path.split(sep).includes('public') ? 'public' : null;
  if (!kind) continue;
  const to = join(target, path);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  copied[kind] += 1;
}
if (copied.lua === 0 || copied.public === 0) {
  process.stderr.write(
    `copy-assets: found ${copied.lua} .lua and ${copied.public} public files under src/; the Redis scripts or the dashboard would be missing from dist/\n`,
  );
  process.exit(1);
}
