// Saving the best epoch of a fine-tuning run: the model as a Hugging Face directory with the
// tokenizer files of the model it started from, its evaluation results and the run's options,
// replaced atomically so the output directory always holds one complete epoch (its checkpoints/
// carried over).
import { join } from 'node:path';
import { atomicWriteDir, atomicWriteFile, copyTokenizerFiles } from '../io/atomic.js';
import { saveTaskModel, type TaskModel } from '../models/task_pretrained.js';
import type { EpochReport, FinetuneRunOptions } from './finetune_loop.js';

const json = (v: unknown): string => JSON.stringify(v, null, 2) + '\n';

/** `extra` adds files (name -> JSON value), e.g. the predictions of a QA run. */
export function saveBestEpoch(o: FinetuneRunOptions, model: TaskModel, r: EpochReport, args: Record<string, unknown>,
  extra: Record<string, unknown> = {}): void {
  atomicWriteDir(o.out, (dir) => {
    saveTaskModel(dir, model);
    copyTokenizerFiles([o.model], dir);
    atomicWriteFile(join(dir, 'eval_results.json'), json({ epoch: r.epoch, eval_file: o.eval, ...r.metrics }));
    for (const [file, value] of Object.entries(extra)) atomicWriteFile(join(dir, file), json(value));
    atomicWriteFile(join(dir, 'finetune_args.json'), json({ ...args, model: o.model, train: o.train }));
  }, ['checkpoints']);
}
