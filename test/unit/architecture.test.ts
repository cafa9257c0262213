import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

/**
 * Module boundaries of STYLE.md rule 1 and ARCHITECTURE.md, checked on the import graph:
 *  (a) a module reaches another module only through its `index.ts` or `contract.ts`;
 *  (b) `src/shared/` never imports a module;
 *  (c) outside `src/modules/`, only the composition root builds modules (imports an `index.ts`),
 *      and nobody imports a module's internals.
 * Paths are repository-relative with forward slashes, e.g. `src/modules/anchor/index.ts`.
 */

const REPO_ROOT = join(__dirname, '..', '..');
const COMPOSITION_ROOT = new Set(['src/main.ts', 'src/cli.ts', 'src/platform.ts']);
const MODULE_FILE = /^src\/modules\/([^/]+)\/(.+)$/;
const MODULE_DIR = /^src\/modules\/[^/]+$/;

interface Violation {
  file: string;
  specifier: string;
  target: string;
  rule: string;
}

interface ImportEdge {
  file: string;
  specifier: string;
  target: string;
}

function moduleOf(path: string): { name: string; rest: string } | null {
  const match = MODULE_FILE.exec(path);
  return match ? { name: match[1] as string, rest: match[2] as string } : null;
}

/** Resolves a relative specifier the way TypeScript would; null for packages and node builtins. */
function resolveSpecifier(from: string, specifier: string, files: ReadonlyMap<string, string>): string | null {
  if (!specifier.startsWith('./') && !specifier.startsWith('../') && specifier !== '.' && specifier !== '..') return null;
  const base = posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\/$/, '');
  const withoutJs = base.replace(/\.(js|ts)$/, '');
  const candidates = [base, `${withoutJs}.ts`, `${withoutJs}/index.ts`];
  const found = candidates.find((candidate) => files.has(candidate));
  if (found) return found;
  // Not in the file set (e.g. a fake set in the self-check): a module folder means its index.ts.
  if (MODULE_DIR.test(withoutJs)) return `${withoutJs}/index.ts`;
  return /\.[a-z]+$/i.test(base) && !/\.js$/.test(base) ? base : `${withoutJs}.ts`;
}

function importEdges(files: ReadonlyMap<string, string>): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const [file, source] of files) {
    for (const imported of ts.preProcessFile(source, true, true).importedFiles) {
      const target = resolveSpecifier(file, imported.fileName, files);
      if (target !== null) edges.push({ file, specifier: imported.fileName, target });
    }
  }
  return edges;
}

function violationOf({ file, target }: ImportEdge): string | null {
  const from = moduleOf(file);
  const to = moduleOf(target);
  if (!to || (from && from.name === to.name)) return null;
  const isPublicFace = to.rest === 'index.ts' || to.rest === 'contract.ts';
  if (from) {
    return isPublicFace ? null : `(a) module "${from.name}" may use module "${to.name}" only through its index.ts or contract.ts`;
  }
  if (file.startsWith('src/shared/')) return '(b) src/shared/ must not import any module';
  if (to.rest === 'index.ts' && !COMPOSITION_ROOT.has(file)) {
    return `(c) only the composition root (${[...COMPOSITION_ROOT].join(', ')}) may build module "${to.name}" from its index.ts`;
  }
  if (!isPublicFace) return `(c) code outside src/modules/ may not import the internals of module "${to.name}"`;
  return null;
}

function checkArchitecture(files: ReadonlyMap<string, string>): Violation[] {
  return importEdges(files).flatMap((edge) => {
    const rule = violationOf(edge);
    return rule === null ? [] : [{ ...edge, rule }];
  });
}

function describeViolation(v: Violation): string {
  return `${v.file} imports '${v.specifier}' (${v.target}): ${v.rule}`;
}

function readSourceTree(directory: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const absolute = join(entry.parentPath, entry.name);
    files.set(relative(REPO_ROOT, absolute).split(sep).join('/'), readFileSync(absolute, 'utf8'));
  }
  return files;
}

describe('architecture of src/', () => {
  const files = readSourceTree(join(REPO_ROOT, 'src'));

  it('when src/ is scanned, then it finds the modules, the shared code and their cross-module imports', () => {
    expect(files.has('src/platform.ts')).toBe(true);
    expect(files.has('src/shared/config.ts')).toBe(true);
    expect([...files.keys()].filter((path) => path.endsWith('/index.ts') && moduleOf(path)).length).toBeGreaterThanOrEqual(3);
    const crossModule = importEdges(files).filter((edge) => {
      const from = moduleOf(edge.file);
      const to = moduleOf(edge.target);
      return to !== null && from?.name !== to.name;
    });
    expect(crossModule.length).toBeGreaterThan(0);
  });

  it('when every import under src/ is checked, then no module boundary is crossed', () => {
    expect(checkArchitecture(files).map(describeViolation)).toEqual([]);
  });
});

describe('architecture checker self-check', () => {
  const clean: Array<[string, string]> = [
    ['src/shared/money.ts', 'export const x = 1;\n'],
    ['src/shared/http/auth.ts', "import { x } from '../money';\nimport { z } from 'zod';\n"],
    ['src/modules/anchor/index.ts', "import { a } from './live-rooms/live-rooms.service';\nexport * from './contract';\n"],
    ['src/modules/anchor/contract.ts', 'export interface AnchorServiceClient {}\n'],
    [
      'src/modules/anchor/live-rooms/live-rooms.service.ts',
      "import { x } from '../../../shared/money';\nimport type { A } from '../contract';\n",
    ],
    ['src/modules/audience/index.ts', "import type { AnchorServiceClient } from '../anchor/contract';\nimport { b } from '../anchor';\n"],
    ['src/modules/audience/rewards/reward-writer.ts', "import type { C } from '../../anchor/contract.js';\n"],
    ['src/platform.ts', "import { createAnchorModule } from './modules/anchor';\nimport { y } from './modules/audience/index';\n"],
    ['src/app.ts', "import type { AnchorServiceClient } from './modules/anchor/contract';\n"],
  ];

  function checkWith(extra: Array<[string, string]>): string[] {
    return checkArchitecture(new Map([...clean, ...extra])).map(describeViolation);
  }

  it('when the fake tree respects every rule, then nothing is reported', () => {
    expect(checkWith([])).toEqual([]);
  });

  it("when a module imports another module's internals, then rule (a) names the file and the import", () => {
    const violations = checkWith([
      ['src/modules/audience/rewards/rewards.service.ts', "import type { X } from '../../anchor/live-rooms/live-rooms.service';\n"],
    ]);

    expect(violations).toEqual([
      "src/modules/audience/rewards/rewards.service.ts imports '../../anchor/live-rooms/live-rooms.service' " +
        '(src/modules/anchor/live-rooms/live-rooms.service.ts): (a) module "audience" may use module "anchor" only through its index.ts or contract.ts',
    ]);
  });

  it('when the internal import is a re-export, a dynamic import or a require, then it is caught too', () => {
    const violations = checkWith([
      ['src/modules/finance/index.ts', "export { Y } from '../anchor/anchors/anchors.repository';\n"],
      ['src/modules/finance/jobs.ts', "const m = await import('../audience/sync/sync.service');\n"],
      ['src/modules/analytics/index.ts', "const r = require('../finance/settlement/settlement.repository');\n"],
    ]);

    expect(violations).toHaveLength(3);
    expect(violations.every((v) => v.includes('(a)'))).toBe(true);
  });

  it('when src/shared imports a module, even its contract, then rule (b) reports it', () => {
    const violations = checkWith([['src/shared/module.ts', "import type { AnchorServiceClient } from '../modules/anchor/contract';\n"]]);

    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('src/shared/module.ts');
    expect(violations[0]).toContain('(b)');
  });

  it('when a file outside the composition root builds a module from its index.ts, then rule (c) reports it', () => {
    const violations = checkWith([['src/app.ts', "import { createAnchorModule } from './modules/anchor';\n"]]);

    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain("src/app.ts imports './modules/anchor' (src/modules/anchor/index.ts)");
    expect(violations[0]).toContain('(c)');
  });

  it('when code outside src/modules imports a module internal, then rule (c) reports it even from the composition root', () => {
    const violations = checkWith([['src/main.ts', "import { findAnchor } from './modules/anchor/anchors/anchors.repository';\n"]]);

    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain('internals of module "anchor"');
  });
});
