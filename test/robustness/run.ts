// `npm run test:robustness`: every robustness check at full size (issue 7), then a summary of the
// counts. CI runs the same checks at small sizes (test/robust_*.test.ts). Exits non-zero when any
// check fails; the summary still lists every part. ROBUST_SEED (default 1) reseeds the kill
// schedule and the fuzzers; ROBUST_KEEP=1 keeps the work directory.
import * as fs from 'node:fs';
import { badText, type BadTextReport } from './bad_text.js';
import { tinySetup, workDir } from './common.js';
import { fullDisk, type DiskReport } from './disk.js';
import { ALL_TARGETS } from './fuzz/all.js';
import { fuzz, type FuzzReport } from './fuzz/driver.js';
import { killTrials, type KillReport } from './kill.js';
import { distillMemory, predictMemory, prepareMemory, type DistillMemory, type PredictMemory, type PrepareMemory } from './memory.js';
import { numerics } from './numerics.js';

const FULL = {
  killTrials: 12, // per command: 24 in all
  killSteps: 14,
  fuzzCases: 10_000,
  hugeLineBytes: 100 << 20,
  prepareBytes: 2 * 2 ** 30,
  prepareLimitMb: 1024,
  predictLines: 1_000_000,
  predictLimitMb: 400,
  distillSteps: 2000,
  distillMarginMb: 5,
};

const seed = Number(process.env.ROBUST_SEED ?? 1);
const work = workDir('suite');
const t0 = performance.now();
const failures: string[] = [];
const log = (line: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);

/** Run one part; a failure is recorded (and printed) and the suite goes on. */
async function part<T>(name: string, fn: () => Promise<T> | T): Promise<T | null> {
  log(`${name} ...`);
  try {
    const r = await fn();
    log(`${name}: done`);
    return r;
  } catch (e) {
    failures.push(`${name}: ${(e as Error).message}`);
    log(`${name}: FAILED\n${(e as Error).stack}`);
    return null;
  }
}

const setup = tinySetup(work, 80);
const kills: KillReport[] = [];
for (const command of ['distill', 'pretrain'] as const) {
  const r = await part(`kill -9 and resume (${command})`, () =>
    killTrials({ command, setup, work, trials: FULL.killTrials, seed, steps: FULL.killSteps, maxKills: 3, log }));
  if (r) kills.push(r);
}
const disk: DiskReport | null = await part('full disk', () => fullDisk(setup, work));
const fuzzed: FuzzReport[] = [];
for (const t of ALL_TARGETS) {
  const r = await part(`fuzz ${t.name}`, () => fuzz(t.name, { seed, cases: FULL.fuzzCases }));
  if (!r) continue;
  fuzzed.push(r);
  if (r.failed > 0) failures.push(`fuzz ${t.name}: ${r.failed} failing cases, e.g. ${JSON.stringify(r.failures.slice(0, 3))}`);
}
const text: BadTextReport | null = await part('bad text', () => badText(work, FULL.hugeLineBytes));
const prep: PrepareMemory | null = await part('prepare memory', () => prepareMemory(work, FULL.prepareBytes, FULL.prepareLimitMb));
const pred: PredictMemory | null = await part('predict memory', () => predictMemory(work, FULL.predictLines, FULL.predictLimitMb));
const dist: DistillMemory | null = await part('distill memory', () => distillMemory(work, FULL.distillSteps, FULL.distillMarginMb));
const nums = await part('numerics', () => numerics(setup, work));

const mb = (x: number) => `${x.toFixed(0)} MB`;
const minutes = (performance.now() - t0) / 60_000;
const lines = [`robustness summary (seed ${seed}, ${Math.floor(minutes)} min ${Math.round((minutes % 1) * 60)} s)`];
const sum = (f: (k: KillReport) => number) => kills.reduce((a, k) => a + f(k), 0);
lines.push(`  kill -9 anywhere: ${sum((k) => k.survived)}/${sum((k) => k.trials)} trials survived ${sum((k) => k.kills)} kills ` +
  `(${sum((k) => k.midCheckpoint)} during a checkpoint write; ${sum((k) => k.fellBack)} resumes passed over a corrupted checkpoint) ` +
  `with weights identical to an uninterrupted run [${kills.map((k) => `${k.command} ${k.survived}/${k.trials}`).join(', ')}]`);
lines.push(disk === null ? '  full disk: FAILED'
  : disk.skipped ? `  full disk: skipped (${disk.skipped})`
  : `  full disk: prepare and pretrain stopped with ENOSPC naming the path (exit 1); previous dataset and checkpoint intact, no partial files; resumed exactly`);
lines.push('  fuzz cases per reader (accepted / rejected with an error naming the file / failures):');
for (const r of fuzzed) lines.push(`    ${r.target.padEnd(36)} ${String(r.cases).padStart(6)}  (${r.accepted} / ${r.rejected} / ${r.failed})`);
if (text) {
  lines.push(`  bad text: ${text.cases} cases (${text.prepare.lines} lines encoded, ${text.prepare.blank} blank and ${text.prepare.skippedFiles} empty file ` +
    `skipped, ${text.prepare.badText} with invalid UTF-8 or NUL repaired, ${text.prepare.cutLines} over-long lines read in pieces, ` +
    `${text.prepare.dropped} pieces dropped); none fatal`);
}
lines.push('  peak RSS:');
if (text) lines.push(`    prepare with a ${mb(text.hugeLineMb)} single line (BERT tokenizer): ${mb(text.prepareRssMb)}`);
if (prep) lines.push(`    prepare of a ${mb(prep.corpusMb)} corpus: ${mb(prep.peakRssMb)} (limit ${FULL.prepareLimitMb} MB), ${prep.sequences} sequences in ${prep.seconds.toFixed(0)} s`);
if (pred) lines.push(`    predict over ${pred.lines} lines: ${mb(pred.peakRssMb)} (limit ${FULL.predictLimitMb} MB); ${mb(pred.outputMb)} of output, ` +
  `first seen ${(pred.firstOutputAt * 100).toFixed(1)}% into the run (${(pred.firstOutputShare * 100).toFixed(1)}% of it), grew at ${pred.growths} polls`);
if (dist) lines.push(`    distill for ${dist.steps} steps: ${mb(dist.warmMb)} after warm-up (2nd quarter), ${mb(dist.lateMb)} in the last quarter`);
if (nums) lines.push(`  numerics: ${nums.length} divergences (NaN student weight, infinite teacher weight, NaN gradient) stopped with step, term and parameter named; resume exact`);
lines.push(failures.length === 0 ? 'RESULT: PASS' : `RESULT: FAIL (${failures.length})\n${failures.map((f) => `  - ${f.slice(0, 2000)}`).join('\n')}`);
console.log(`\n${lines.join('\n')}`);

if (process.env.ROBUST_KEEP === '1' || failures.length > 0) console.log(`work directory kept: ${work}`);
else fs.rmSync(work, { recursive: true, force: true });
process.exit(failures.length === 0 ? 0 : 1);
