#!/usr/bin/env node
// Held-out masked-LM accuracy against tokens seen, from the metrics.jsonl of training runs
// (`distil pretrain --eval-data ...`), as a markdown table: one column per run, one row per token
// milestone (the last evaluation at or before it), plus each run's last evaluation.
//   node experiments/curves.mjs RUN_DIR... [--milestones 1e6,2e6,5e6]
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const argv = process.argv.slice(2);
const mi = argv.indexOf('--milestones');
const milestones = mi >= 0 ? argv[mi + 1].split(',').map(Number) : [1e6, 2e6, 5e6, 1e7, 2e7, 5e7, 1e8, 2e8, 5e8];
const runs = argv.filter((_, i) => mi < 0 || (i !== mi && i !== mi + 1));
if (runs.length === 0) {
  console.error('usage: node experiments/curves.mjs RUN_DIR... [--milestones 1e6,2e6,...]');
  process.exit(2);
}
const evals = runs.map((dir) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')
  .map((l) => JSON.parse(l)).filter((m) => m.eval_mlm_accuracy !== undefined));
const fmt = (m) => (m ? `${(100 * m.eval_mlm_accuracy).toFixed(1)}` : '');
const last = Math.max(...evals.map((e) => e.at(-1)?.tokens_seen ?? 0));
const rows = milestones.filter((t, i) => i === 0 || milestones[i - 1] < last);
console.log(`| tokens seen | ${runs.map((r) => basename(r)).join(' | ')} |`);
console.log(`|---|${runs.map(() => '---').join('|')}|`);
for (const t of rows)
  console.log(`| ${t >= 1e6 ? `${t / 1e6}M` : t} | ${evals.map((e) => fmt(e.filter((m) => m.tokens_seen <= t).at(-1))).join(' | ')} |`);
console.log(`| last | ${evals.map((e) => (e.length ? `${fmt(e.at(-1))} at ${(e.at(-1).tokens_seen / 1e6).toFixed(1)}M` : '')).join(' | ')} |`);
