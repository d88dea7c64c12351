// Writers of a run directory's results: docs/results.md with SVG figures beside it (experiments/
// reproduce), and one self-contained HTML page (the demo's report.html).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { barsSpec, lossCurvesSpec, renderSvg, scoreVsSizeSpec, thin, type Row } from './charts.js';
import { meanScore, type ModelResult, type Results } from './results.js';
import { ablationTable, markdownTable, scoreTable, speedTable, timeTable, type Table } from './tables.js';

export interface Figure {
  name: string;
  caption: string;
  svg: string;
}

const TERMS = ['loss', 'loss_ce', 'loss_mlm', 'loss_cos'];

function curveRows(models: ModelResult[], terms: string[]): Row[] {
  return models.flatMap((m) => thin(m.curve).flatMap((p) =>
    terms.filter((t) => Number.isFinite(p[t])).map((t) => ({ run: m.label, term: t, step: p.step!, value: p[t]! }))));
}

/** The figures of a run directory: loss curves per term (teacher, students) and score against size. */
export async function figures(r: Results): Promise<Figure[]> {
  const out: Figure[] = [];
  if (r.teacher.curve.length > 0)
    out.push({ name: 'teacher_pretraining', caption: 'Teacher pretraining: masked-LM loss per optimizer step',
      svg: await renderSvg(lossCurvesSpec('Teacher pretraining (distil pretrain)', curveRows([r.teacher], ['loss_mlm']))) });
  const students = r.students.filter((m) => m.curve.length > 0);
  if (students.length > 0)
    out.push({ name: 'student_losses', caption: 'Distillation: each loss term per optimizer step, every student variant (a term left out is not drawn)',
      svg: await renderSvg(lossCurvesSpec('Distillation loss terms (distil distill)', curveRows(students, TERMS))) });
  const scored = [r.teacher, ...r.students].filter((m) => Number.isFinite(meanScore(m, r.tasks)));
  if (scored.length > 0)
    out.push({ name: 'score_vs_size', caption: 'Mean downstream accuracy against parameter count',
      svg: await renderSvg(scoreVsSizeSpec('Score against size', 'mean test accuracy (%)',
        scored.map((m) => ({ model: m.label, parameters: m.parameters / 1e6, score: meanScore(m, r.tasks) })))) });
  const mlm = [r.teacher, ...r.students].filter((m) => m.mlm);
  if (mlm.length > 0)
    out.push({ name: 'mlm_accuracy', caption: 'Held-out masked-LM accuracy',
      svg: await renderSvg(barsSpec('Held-out masked-LM accuracy', 'accuracy (%)', mlm.map((m) => ({ model: m.label, value: 100 * m.mlm!.mlm_accuracy })))) });
  return out;
}

export function tables(r: Results): Table[] {
  return [scoreTable(r), speedTable(r), ablationTable(r), timeTable(r)].filter((t): t is Table => t !== null);
}

export function machineLine(): string {
  const c = cpus();
  return `${c.length} cores (${c[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/**
 * Write `file` (Markdown) with the tables, the figures as SVG files in `<dir of file>/figures/`, and
 * the sections of `prose` (hand-written Markdown: set-up, commands, discussion) where it says
 * `<!-- tables -->` and `<!-- figures -->`; without markers, tables and figures follow the prose.
 */
export async function writeResultsMarkdown(r: Results, file: string, prose = ''): Promise<string[]> {
  const figDir = join(dirname(file), 'figures');
  mkdirSync(figDir, { recursive: true });
  const figs = await figures(r);
  const written: string[] = [];
  for (const f of figs) {
    const p = join(figDir, `${f.name}.svg`);
    writeFileSync(p, f.svg);
    written.push(p);
  }
  const tableMd = tables(r).map((t) => `### ${t.title}\n\n${markdownTable(t)}`).join('\n\n');
  const figMd = figs.map((f) => `![${f.caption}](${relative(dirname(file), join(figDir, `${f.name}.svg`))})\n\n*${f.caption}.*`).join('\n\n');
  let body = prose.includes('<!-- tables -->') ? prose.replace('<!-- tables -->', tableMd) : `${prose}\n\n${tableMd}`;
  body = body.includes('<!-- figures -->') ? body.replace('<!-- figures -->', figMd) : `${body}\n\n${figMd}`;
  writeFileSync(file, `${body.trim()}\n`);
  return [file, ...written];
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function htmlTable(t: Table): string {
  const cells = (r: string[], tag: string): string => `<tr>${r.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  return `<h2>${escapeHtml(t.title)}</h2>\n<table>${cells(t.header, 'th')}${t.rows.map((r) => cells(r, 'td')).join('')}</table>` +
    (t.note ? `\n<p class="note">${escapeHtml(t.note)}</p>` : '');
}

/** One self-contained HTML page: `intro` lines, the tables, the figures inline. */
export async function writeResultsHtml(r: Results, file: string, title: string, intro: string[]): Promise<void> {
  const figs = await figures(r);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { color: #555; font-size: 90%; }
figure { margin: 1.5em 0; }
</style></head><body>
<h1>${escapeHtml(title)}</h1>
${intro.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')}
${tables(r).map(htmlTable).join('\n')}
${figs.map((f) => `<figure>${f.svg}<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`).join('\n')}
<p class="note">Run directory: ${escapeHtml(r.runs)}. Machine: ${escapeHtml(machineLine())}.</p>
</body></html>
`;
  writeFileSync(file, html);
}

/** The prose file beside the results (docs/results.prose.md), if any. */
export function readProse(file: string): string {
  const p = join(dirname(file), `${basename(file, '.md')}.prose.md`);
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}
