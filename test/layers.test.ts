// The source folders are layers: imports run one way (cli -> report, prune -> infer -> tasks,
// distill -> train -> data, models, text, corpus -> io -> tensor). This test reads every import of
// src/ and fails on two folders that import each other, directly or around a longer cycle.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../src/io/paths.js';

const SRC = join(projectRoot(), 'src');

/** Top folder of a path under src/ ('.' for src/index.ts and friends). */
const folderOf = (file: string): string => {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? parts[0]! : '.';
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** folder -> folder -> one file that makes the edge (for the message). */
function folderImports(): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const file of sources(SRC)) {
    const from = folderOf(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const to = folderOf(resolve(dirname(file), m[1]!));
      if (to === from || from === '.') continue;
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, relative(SRC, file));
    }
  }
  return edges;
}

test('no two source folders import each other, and the folder graph has no cycle', () => {
  const edges = folderImports();
  assert.ok(edges.size >= 10, `read the imports of ${edges.size} folders`);
  // Depth-first search for a back edge; the cycle found is named with a file per step.
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    path.push(f);
    for (const [to, file] of edges.get(f) ?? []) {
      if (state.get(to) === 'open') {
        const cycle = [...path.slice(path.indexOf(to)), to];
        assert.fail(`folders import each other: ${cycle.join(' -> ')} (e.g. ${file} imports ${to}/)`);
      }
      if (!state.has(to)) visit(to);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of edges.keys()) if (!state.has(f)) visit(f);
  // The layers the README's architecture names, checked by a few of their edges.
  for (const [from, to] of [['cli', 'tasks'], ['infer', 'tasks'], ['distill', 'train'], ['train', 'data'], ['io', 'tensor']])
    assert.ok(edges.get(from)?.has(to), `${from} -> ${to} expected`);
  for (const [from, to] of [['tasks', 'infer'], ['data', 'train'], ['train', 'distill'], ['tensor', 'io']])
    assert.ok(!edges.get(from)?.has(to), `${from} must not import ${to}: ${edges.get(from)?.get(to)}`);
});
