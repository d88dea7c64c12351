// `npm run bench:pipeline -- --data DATA`: the overhead of the training pipeline (batching, dynamic
// masking, accumulation, metrics) over the bare distillation step of `npm run bench`, at base size
// and 8 x 128 tokens, both measured in this process. DATA comes from `distil prepare --max-len 128`;
// only its sequences of exactly 128 tokens are used, so both sides run the same shapes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../src/data/dataset.js';
import { DISTILL_DEFAULTS, Distiller } from '../src/distill/distiller.js';
import { defaultStudentLayers, initStudentFrom } from '../src/distill/init_student.js';
import { baseTeacher, distillStep, mlmBatch } from './workloads.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const dataDir = arg('--data');
if (!dataDir) throw new Error('usage: node dist/bench/pipeline.js --data DATA (from distil prepare --max-len 128)');
const steps = Number(arg('--steps') ?? 6);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const ds = openDataset(dataDir);
const full: number[] = [];
for (let i = 0; i < ds.size; i++) if (ds.lengths[i] === 128) full.push(i);
if (full.length < 8 * (steps + 1)) throw new Error(`${dataDir}: only ${full.length} sequences of 128 tokens; prepare more text with --max-len 128`);
const data = {
  size: full.length, lengths: new Int32Array(full.length).fill(128), get: (i: number) => ds.get(full[i]!),
  tokenCounts: ds.tokenCounts, identity: { bench: true },
};

const teacher = baseTeacher();
const { student, report } = initStudentFrom(teacher, defaultStudentLayers(12));

// The bare step of `npm run bench` (same models, masked projection).
const bare = distillStep(teacher, student, mlmBatch(8, 128));
bare.step();
const bareMs: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  bare.step();
  bareMs.push(performance.now() - t0);
}

// The same work through the Distiller: reference options, restrict_ce_to_mask to project the
// masked positions only, as the bare step does; one micro-batch per optimizer step.
const out = mkdtempSync(join(tmpdir(), 'distil-bench-'));
const params = {
  ...DISTILL_DEFAULTS, batch_size: 8, gradient_accumulation_steps: 1, max_steps: steps + 1, restrict_ce_to_mask: true,
  checkpoint_interval: 0, n_epoch: 1,
};
const d = new Distiller(teacher, student, report.config, data, params, ds.meta.special_ids, out);
const pipeMs: number[] = [];
let last = performance.now();
d.train(() => {
  const now = performance.now();
  pipeMs.push(now - last);
  last = now;
});
rmSync(out, { recursive: true, force: true });
const pipe = median(pipeMs.slice(1));
const bareMed = median(bareMs);
console.log(`bare distillation step 8x128:   ${bareMed.toFixed(0)} ms  (${((8 * 128) / bareMed * 1000).toFixed(0)} tokens/s)`);
console.log(`Distiller step 8x128 on data:   ${pipe.toFixed(0)} ms  (${((8 * 128) / pipe * 1000).toFixed(0)} tokens/s)`);
console.log(`per step, bare: ${bareMs.map((x) => x.toFixed(0)).join(" ")}; Distiller: ${pipeMs.map((x) => x.toFixed(0)).join(" ")}`);
console.log(`pipeline overhead: ${(100 * (pipe / bareMed - 1)).toFixed(1)}% (medians of ${steps} steps each)`);
