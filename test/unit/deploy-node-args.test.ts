import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SERVICE_NODE_ARGS } from '../../bench/harness';

const ROOT = join(__dirname, '..', '..');

describe("the service's Node flags", () => {
  it('when the service is deployed, started with npm start or benchmarked, then it runs with the same Node flags', () => {
    const dockerCmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
    expect(JSON.parse(dockerCmd ?? '[]')).toEqual(['node', ...SERVICE_NODE_ARGS, 'dist/src/main.js']);
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['start']).toBe(`npm run build --silent && node ${SERVICE_NODE_ARGS.join(' ')} dist/src/main.js`);
  });
});
