// distil report: the paper's tables from a run directory (medians over seeds, retention, ablation
// deltas and their direction against the paper, summed times) and the SVG figures rendered by vega.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { initStudent } from '../src/distill/init_student.js';
import { collectResults, median } from '../src/report/results.js';
import { ablationTable, scoreTable, timeTable } from '../src/report/tables.js';
import { writeResultsHtml, writeResultsMarkdown } from '../src/report/write.js';
import { FIXTURES } from './helpers.js';

/** A run directory with real (tiny) models and the result files the reproduce steps write. */
function runDir(): string {
  const R = mkdtempSync(join(tmpdir(), 'distil-report-'));
  cpSync(join(FIXTURES, 'tiny-bert'), join(R, 'teacher'), { recursive: true });
  for (const v of ['triple', 'no-ce']) initStudent(join(R, 'teacher'), join(R, 'students', v), [0, 2]);
  const write = (f: string, v: unknown): void => {
    mkdirSync(join(R, f, '..'), { recursive: true });
    writeFileSync(join(R, f), JSON.stringify(v));
  };
  // test accuracies per seed: teacher MR 80/82/90 (median 82), spam 98/96/97 (97)
  const acc: Record<string, Record<string, number[]>> = {
    teacher: { mr: [0.8, 0.82, 0.9], spam: [0.98, 0.96, 0.97] },
    triple: { mr: [0.79, 0.78, 0.6], spam: [0.97, 0.97, 0.95] },
    'no-ce': { mr: [0.7, 0.75, 0.74], spam: [0.96, 0.95, 0.97] },
  };
  for (const [m, tasks] of Object.entries(acc))
    for (const [task, xs] of Object.entries(tasks)) xs.forEach((a, i) => write(`finetune/${m}/${task}-s${i + 1}.json`, { accuracy: a, f1: a }));
  write('mlm/teacher.json', { mlm_accuracy: 0.4, perplexity: 50 });
  write('mlm/triple.json', { mlm_accuracy: 0.35, perplexity: 70 });
  write('mlm/no-ce.json', { mlm_accuracy: 0.3, perplexity: 90 });
  writeFileSync(join(R, 'students', 'triple', 'metrics.jsonl'),
    [1, 2, 3].map((s) => JSON.stringify({ step: s, loss: 10 - s, loss_ce: 5 - s, loss_mlm: 4, loss_cos: 0.5 })).join('\n') + '\n{"step": 4, "lo');
  writeFileSync(join(R, 'times.tsv'), 'teacher\t100\ndistill-triple\t30\nteacher\t20\n');
  return R;
}

test('report tables: medians over seeds, retention, ablation deltas with the paper\'s direction, summed times', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  const r = collectResults(runDir());
  assert.deepEqual(r.students.map((s) => s.id), ['triple', 'no-ce']);
  assert.equal(r.students[0]!.curve.length, 3, 'the torn last metrics line is skipped');
  const scores = scoreTable(r);
  const [teacher, triple] = scores.rows;
  // teacher mean (82 + 97) / 2 = 89.5; triple (78 + 97) / 2 = 87.5 -> 97.8% of the teacher
  assert.deepEqual(teacher!.slice(3, 7), ['82.0', '97.0', '89.5', '100']);
  assert.deepEqual(triple!.slice(3, 7), ['78.0', '97.0', '87.5', '97.8']);
  assert.equal(teacher![1], '4');
  assert.equal(triple![1], '2');
  assert.deepEqual(triple!.slice(7), ['35.0', '70.0', '3/3']);
  const abl = ablationTable(r)!;
  // no-ce: (74 + 96) / 2 = 85 -> -2.5 against 87.5; the paper says -2.96: same direction
  assert.deepEqual(abl.rows[1], ['without L_ce', '85.00', '-2.50', '-2.96', 'yes', '-5.00']);
  assert.deepEqual(timeTable(r)!.rows, [['teacher', '2.0 min'], ['distill-triple', '30 s'], ['total', '2.5 min']]);
});

test('report files: Markdown with the prose merged, SVG figures, one HTML page', async () => {
  const R = runDir();
  const r = collectResults(R);
  const md = join(R, 'docs', 'results.md');
  mkdirSync(join(R, 'docs'));
  const files = await writeResultsMarkdown(r, md, '# Results\n\nSet-up.\n\n<!-- tables -->\n\n## Plots\n\n<!-- figures -->\n\nEnd.');
  const text = readFileSync(md, 'utf8');
  assert.match(text, /^# Results\n\nSet-up\.\n\n### Downstream accuracy/);
  assert.match(text, /\| without L_ce \| 85\.00 \| -2\.50 \|/);
  assert.match(text, /!\[Distillation: each loss term[^\]]*\]\(figures\/student_losses\.svg\)/);
  assert.match(text, /End\.\n$/);
  const svgs = files.filter((f) => f.endsWith('.svg'));
  assert.deepEqual(svgs.map((f) => f.split('/').pop()).sort(), ['mlm_accuracy.svg', 'score_vs_size.svg', 'student_losses.svg']);
  for (const f of svgs) {
    const svg = readFileSync(f, 'utf8');
    assert.match(svg, /^<svg/);
    assert.ok(svg.length > 2000, `${f} has content`);
  }
  assert.match(readFileSync(join(R, 'docs', 'figures', 'student_losses.svg'), 'utf8'), /loss_ce/);
  const html = join(R, 'report.html');
  await writeResultsHtml(r, html, 'T', ['intro']);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<h2>Ablations/);
  assert.equal([...page.matchAll(/<svg/g)].length, 3);
});
