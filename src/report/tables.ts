// The paper's tables, filled from a run directory's results (results.ts), as rows of strings that
// the Markdown (docs/results.md) and HTML (the demo's report) writers both print.
import { meanScore, taskScores, TASKS, VARIANTS, type ModelResult, type Results } from './results.js';

export interface Table {
  title: string;
  header: string[];
  rows: string[][];
  note?: string;
}

const pct = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const millions = (n: number): string => `${(n / 1e6).toFixed(1)}M`;
const seedsOf = (m: ModelResult, tasks: string[]): string => tasks.map((t) => m.scores[t]?.length ?? 0).join('/');

/** Paper Tables 1 and 2: downstream accuracy (median over seeds), MLM quality and retention. */
export function scoreTable(r: Results): Table {
  const teacherMean = meanScore(r.teacher, r.tasks);
  const rows = [r.teacher, ...r.students].map((m) => {
    const mean = meanScore(m, r.tasks);
    return [
      m.label, String(m.layers), millions(m.parameters), ...taskScores(m, r.tasks).map((s) => pct(s)), pct(mean),
      m === r.teacher ? '100' : pct((100 * mean) / teacherMean), pct(100 * (m.mlm?.mlm_accuracy ?? NaN)),
      m.mlm ? m.mlm.perplexity.toFixed(1) : '–', seedsOf(m, r.tasks),
    ];
  });
  return {
    title: 'Downstream accuracy and masked-LM quality (the paper\'s Tables 1 and 2)',
    header: ['model', 'layers', 'parameters', ...r.tasks.map((t) => `${TASKS[t] ?? t} acc. %`), 'mean %', '% of teacher',
      'MLM acc. %', 'MLM perplexity', 'seeds'],
    rows,
    note: 'Accuracy on each task\'s test split, median over fine-tuning seeds; mean = the macro-score over the tasks; ' +
      'MLM on the corpus valid split (fixed-seed 15% targets). The paper: DistilBERT keeps 97% of BERT\'s GLUE macro-score.',
  };
}

/** Paper Table 3: parameters and batch-1 inference time. */
export function speedTable(r: Results): Table | null {
  const s = r.speed;
  if (!s) return null;
  const [t, st] = s.rows;
  const rows = s.rows.map((row) => [
    row.model === 'teacher' ? r.teacher.label : (r.students[0]?.label ?? row.model), millions(row.parameters), row.seconds.toFixed(2),
    row.ms_per_line.toFixed(2), row.ort_seconds ? row.ort_seconds.toFixed(2) : '–',
  ]);
  return {
    title: 'Size and batch-1 CPU inference time (the paper\'s Table 3)',
    header: ['model', 'parameters', `seconds for ${s.lines} inputs`, 'ms per input', 'onnxruntime-node s (same model)'],
    rows,
    note: t && st ? `The student has ${pct(100 * (1 - st.parameters / t.parameters), 0)}% fewer parameters and is ` +
      `${s.speedup.toFixed(2)}x as fast (${pct(100 * (s.speedup - 1), 0)}% faster). The paper: 40% fewer, 60% faster (668 s vs 410 s).` : undefined,
  };
}

/** Paper Table 4: each ablation's delta in mean score against the triple-loss student. */
export function ablationTable(r: Results): Table | null {
  const base = r.students.find((m) => m.id === 'triple');
  if (!base || r.students.length < 2) return null;
  const baseMean = meanScore(base, r.tasks);
  const rows = r.students.filter((m) => m !== base).map((m) => {
    const v = VARIANTS.find((x) => x.id === m.id)!;
    const delta = meanScore(m, r.tasks) - baseMean;
    const mlmDelta = 100 * ((m.mlm?.mlm_accuracy ?? NaN) - (base.mlm?.mlm_accuracy ?? NaN));
    const same = v.paperDelta === undefined || !Number.isFinite(delta) ? '–' : Math.sign(delta) === Math.sign(v.paperDelta) ? 'yes' : 'no';
    return [m.label, pct(meanScore(m, r.tasks), 2), `${delta >= 0 ? '+' : ''}${pct(delta, 2)}`,
      v.paperDelta === undefined ? '–' : v.paperDelta.toFixed(2), same, `${mlmDelta >= 0 ? '+' : ''}${pct(mlmDelta, 2)}`];
  });
  return {
    title: 'Ablations (the paper\'s Table 4)',
    header: ['variant (same budget)', 'mean %', 'delta vs triple loss', 'paper delta (GLUE)', 'same direction as the paper', 'delta MLM acc.'],
    rows: [[base.label, pct(baseMean, 2), '0', '0', '', '0'], ...rows],
  };
}

/** Wall-clock time of each run (summed over resumed pieces). */
export function timeTable(r: Results): Table | null {
  const entries = Object.entries(r.times);
  if (entries.length === 0) return null;
  const fmt = (s: number): string => (s >= 3600 ? `${(s / 3600).toFixed(2)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);
  const total = entries.reduce((a, [, s]) => a + s, 0);
  return {
    title: 'Time each run took (this machine)',
    header: ['run', 'wall clock'],
    rows: [...entries.map(([k, s]) => [k, fmt(s)]), ['total', fmt(total)]],
  };
}

export function markdownTable(t: Table): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [
    `| ${t.header.map(esc).join(' | ')} |`,
    `|${t.header.map(() => '---').join('|')}|`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ...(t.note ? ['', t.note] : []),
  ].join('\n');
}

/** Fixed-width text table for the terminal. */
export function textTable(t: Table): string {
  const all = [t.header, ...t.rows];
  const w = t.header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [t.title, line(t.header), ...t.rows.map(line), ...(t.note ? [t.note] : [])].join('\n');
}
