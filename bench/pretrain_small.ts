// `node dist/bench/pretrain_small.js [--json] [--steps N] [--precision bf16|fp32] [--config FILE] [--batch-size B]`: small-model
// pretraining speed, the workload of the teacher: BERT 6 x 256 (4 heads, FFN 1024, vocab 30,522,
// experiments/teacher-6x256.json), 128 packed sequences of 128 tokens a step, masked-LM on 15%
// uniform targets, AdamW with clipping, bf16 mixed precision. It runs the trainer's own step
// (dynamic masking, passes of --max-pass-tokens, backward, AdamW) on in-memory sequences, so the
// figures are what `distil pretrain` does per step, without the disk. Run in a process of its own
// (bench.ts spawns it), so the RSS is this workload's alone.
// Prints the median step time and tokens/s over the steady steps, the first step, the slowest
// steady step, CPU user and system seconds of the steady steps, and the peak RSS.
import { fileURLToPath } from 'node:url';
import { DEFAULT_MASKING } from '../src/train/masking.js';
import { readModelConfig } from '../src/io/config.js';
import { BertForMaskedLM } from '../src/models/bert.js';
import { native } from '../src/tensor/native.js';
import { parsePrecision, TRAIN_PRECISIONS, withPrecision } from '../src/tensor/precision.js';
import { TRAIN_DEFAULTS } from '../src/train/params.js';
import { MlmPretrainer } from '../src/train/pretrainer.js';
import { DEFAULT_PASS_TOKENS } from '../src/train/trainer.js';

const argv = process.argv.slice(2);
const arg = (name: string, def: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : def);
const B = Number(arg('--batch-size', '128')), T = 128;
const steps = Number(arg('--steps', '24'));
const precision = parsePrecision(arg('--precision', 'bf16'), TRAIN_PRECISIONS);
const passTokens = Number(arg('--max-pass-tokens', String(DEFAULT_PASS_TOKENS)));

const configFile = arg('--config', fileURLToPath(new URL('../../experiments/teacher-6x256.json', import.meta.url)));
const read = readModelConfig(configFile);
if (read.kind !== 'bert') throw new Error(`${configFile}: expected a BERT config`);
const config = read.config;
const V = config.vocab_size;

// Packed sequences: [CLS] 126 ids [SEP], ids spread over the vocabulary (the step's cost depends on
// the shapes only). Enough for every step to draw fresh rows.
let s = 12345;
const nextId = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % (V - 1000) + 1000;
const seqs = Array.from({ length: B * (steps + 1) }, () => Int32Array.from({ length: T }, (_, j) => (j === 0 ? 101 : j === T - 1 ? 102 : nextId())));
const data = {
  size: seqs.length, lengths: new Int32Array(seqs.length).fill(T), get: (i: number) => seqs[i]!,
  tokenCounts: new Float64Array(V).fill(1), identity: { bench: 'pretrain_small' },
};

const bert = new BertForMaskedLM(config);
bert.params.initialize(1);
const trainer = new MlmPretrainer(bert, config, data, { ...TRAIN_DEFAULTS, batch_size: B, gradient_accumulation_steps: 1, weight_decay: 0.01 },
  { ...DEFAULT_MASKING, mlm_smoothing: 0 }, { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 }, '/nonexistent');
trainer.maxPassTokens = passTokens;

const times: number[] = [];
let user = 0, system = 0, peakRss = 0, first = { user: 0, system: 0 };
for (let i = 0; i <= steps; i++) {
  const batch = trainer.prepareBatchMlm(Int32Array.from({ length: B }, (_, j) => i * B + j), i);
  const cpu = process.cpuUsage(), t0 = performance.now();
  withPrecision(precision, () => {
    trainer.step(batch);
    trainer.optimize();
  });
  const dt = performance.now() - t0, c = process.cpuUsage(cpu);
  times.push(dt);
  if (i > 0) {
    user += c.user / 1e6;
    system += c.system / 1e6;
  } else first = { user: c.user / 1e6, system: c.system / 1e6 };
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
const steady = times.slice(1).sort((a, b) => a - b);
const median = steady[steady.length >> 1]!;
const figures = {
  pretrain_small_tokens_per_s: (B * T) / (median / 1000),
  pretrain_small_step_ms: median,
  pretrain_small_first_step_ms: times[0]!,
  pretrain_small_first_step_system_s: first.system,
  pretrain_small_max_step_ms: steady[steady.length - 1]!,
  pretrain_small_user_s: user,
  pretrain_small_system_s: system,
  pretrain_small_peak_rss_mb: peakRss / 2 ** 20,
  pretrain_small_steps: steps,
  pretrain_small_max_pass_tokens: passTokens,
  pretrain_small_precision: precision,
  threads: native.threads(),
};
if (argv.includes('--json')) console.log(JSON.stringify(figures));
else {
  console.log(`pretraining step, BERT ${config.num_hidden_layers}x${config.hidden_size} (vocab ${V}), ${B} x ${T} packed, ${precision}, passes of <= ${passTokens} tokens, ${native.threads()} threads:`);
  console.log(`  median ${median.toFixed(0)} ms = ${figures.pretrain_small_tokens_per_s.toFixed(0)} tokens/s over ${steps} steps; ` +
    `first step ${times[0]!.toFixed(0)} ms (${(times[0]! / median).toFixed(2)}x, system ${first.system.toFixed(2)} s), slowest ${figures.pretrain_small_max_step_ms.toFixed(0)} ms`);
  console.log(`  CPU over the steady steps: user ${user.toFixed(1)} s, system ${system.toFixed(2)} s (${((100 * system) / user).toFixed(1)}%); ` +
    `peak RSS ${figures.pretrain_small_peak_rss_mb.toFixed(0)} MB`);
}
