// The results of a reproduction run (experiments/reproduce) or of the demo, read back from its run
// directory. Layout, everything optional except the teacher:
//   teacher/                      BERT teacher (model, metrics.jsonl of its pretraining)
//   students/<variant>/           distilled students (model, metrics.jsonl, training_args.json)
//   mlm/<model>.json              distil eval-mlm on the valid split
//   finetune/<model>/<task>-s<seed>.json   distil evaluate on the task's test split
//   speed.json                    distil bench-speed (batch 1)
//   times.tsv                     <run name> TAB <seconds>, one line per (resumed) piece
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BertForMaskedLM } from '../models/bert.js';
import { loadMaskedLM } from '../models/pretrained.js';
import type { SpeedReport } from '../infer/bench_speed.js';

/** A student variant: the paper's triple loss or one of its Table 4 ablations. */
export interface Variant {
  id: string;
  label: string;
  /** The paper's GLUE macro-score delta against the triple-loss student (Table 4), when it has one. */
  paperDelta?: number;
}

export const VARIANTS: readonly Variant[] = [
  { id: 'triple', label: 'DistilBERT: triple loss, teacher init' },
  { id: 'no-ce', label: 'without L_ce', paperDelta: -2.96 },
  { id: 'no-cos', label: 'without L_cos', paperDelta: -1.46 },
  { id: 'no-mlm', label: 'without L_mlm', paperDelta: -0.31 },
  { id: 'random-init', label: 'triple loss, random init', paperDelta: -3.69 },
  { id: 'mlm-only', label: 'MLM alone, no teacher, random init' },
];

export const TASKS: Record<string, string> = { mr: 'MR (movie reviews)', spam: 'SpamAssassin' };

export interface ModelResult {
  id: string;
  label: string;
  dir: string;
  parameters: number;
  layers: number;
  /** task -> test accuracy of each seed. */
  scores: Record<string, number[]>;
  mlm?: { mlm_accuracy: number; perplexity: number };
  /** metrics.jsonl of its training run. */
  curve: Array<Record<string, number>>;
}

export interface Results {
  runs: string;
  teacher: ModelResult;
  students: ModelResult[];
  speed?: SpeedReport;
  /** run name -> wall-clock seconds, summed over resumed pieces. */
  times: Record<string, number>;
  tasks: string[];
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function readCurve(dir: string): Array<Record<string, number>> {
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, number>];
    } catch {
      return []; // a line torn by a kill: the trainer trims it on resume, a reader just skips it
    }
  });
}

function countParameters(dir: string): { parameters: number; layers: number } {
  const m = loadMaskedLM(dir);
  return { parameters: m.numParameters(), layers: m instanceof BertForMaskedLM ? m.config.num_hidden_layers : m.config.n_layers };
}

function readModel(runs: string, id: string, label: string, dir: string, tasks: string[]): ModelResult {
  const scores: Record<string, number[]> = {};
  const ft = join(runs, 'finetune', id);
  for (const task of tasks) {
    const files = existsSync(ft) ? readdirSync(ft).filter((f) => f.startsWith(`${task}-s`) && f.endsWith('.json')).sort() : [];
    scores[task] = files.map((f) => readJson<{ accuracy: number }>(join(ft, f)).accuracy);
  }
  const mlmFile = join(runs, 'mlm', `${id}.json`);
  return {
    id, label, dir, ...countParameters(dir), scores, curve: readCurve(dir),
    ...(existsSync(mlmFile) ? { mlm: readJson<{ mlm_accuracy: number; perplexity: number }>(mlmFile) } : {}),
  };
}

/** Read a run directory; a student variant whose model is not there yet is left out. */
export function collectResults(runs: string, tasks: string[] = Object.keys(TASKS)): Results {
  const teacherDir = join(runs, 'teacher');
  if (!existsSync(join(teacherDir, 'config.json'))) throw new Error(`${teacherDir}/config.json: no teacher in this run directory; run experiments/reproduce first`);
  const teacher = readModel(runs, 'teacher', 'BERT teacher', teacherDir, tasks);
  const students = VARIANTS.filter((v) => existsSync(join(runs, 'students', v.id, 'model.safetensors')))
    .map((v) => readModel(runs, v.id, v.label, join(runs, 'students', v.id), tasks));
  const times: Record<string, number> = {};
  const timesFile = join(runs, 'times.tsv');
  if (existsSync(timesFile))
    for (const line of readFileSync(timesFile, 'utf8').split('\n')) {
      const [name, s] = line.split('\t');
      if (name && s && Number.isFinite(Number(s))) times[name] = (times[name] ?? 0) + Number(s);
    }
  const speedFile = join(runs, 'speed.json');
  return { runs, teacher, students, times, tasks, ...(existsSync(speedFile) ? { speed: readJson<SpeedReport>(speedFile) } : {}) };
}

/** Median test accuracy over seeds, in percent, per task; NaN where there is none. */
export function taskScores(m: ModelResult, tasks: string[]): number[] {
  return tasks.map((t) => 100 * median(m.scores[t] ?? []));
}

/** Mean over tasks of the median accuracy (percent): the paper's macro-score, on our tasks. */
export function meanScore(m: ModelResult, tasks: string[]): number {
  const s = taskScores(m, tasks);
  return s.reduce((a, b) => a + b, 0) / s.length;
}
