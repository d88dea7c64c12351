// Option schemas (src/train/schema.ts): one object per option group holds each key's default, check
// and doc. Every command's flags, --options-file and the library's `params` are checked from it.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DISTILL_SCHEMA } from '../src/distill/distiller.js';
import { pretrain, PRETRAIN_SCHEMA } from '../src/distill/run.js';
import { finetune } from '../src/tasks/classification/finetune.js';
import { FINETUNE_SCHEMA } from '../src/tasks/finetune_loop.js';
import { finetuneQa, QA_FINETUNE_SCHEMA } from '../src/tasks/qa/finetune.js';
import { TRAIN_SCHEMA } from '../src/train/params.js';
import { defaultsOf, resolveOptions, resolveParams, withDefaults, type Schema } from '../src/train/schema.js';
import { cli, tinyBertDir } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'distil-schema-'));
const flag = (k: string) => `--${k.replace(/_/g, '-')}`;

test('resolveOptions: defaults, then each layer, every value checked; errors name the source and the key or flag', () => {
  const s = withDefaults(TRAIN_SCHEMA, { learning_rate: 1e-3 });
  assert.equal(defaultsOf(s).learning_rate, 1e-3);
  assert.equal(defaultsOf(TRAIN_SCHEMA).learning_rate, 5e-4, 'withDefaults leaves the original alone');
  const p = resolveOptions(s, [{ source: 'a.json', values: { batch_size: 8, seed: 1 } }, { source: 'command line', values: { seed: 2 }, name: flag }]);
  assert.deepEqual([p.batch_size, p.seed, p.learning_rate], [8, 2, 1e-3]);
  assert.throws(() => resolveOptions(s, [{ source: 'a.json', values: { batch_sise: 8 } }]), /a\.json: unknown option "batch_sise"; known options: batch_size,/);
  assert.throws(() => resolveOptions(s, [{ source: 'command line', values: { batch_size: 2.5 }, name: flag }]),
    /command line: --batch-size must be an integer in \[1, 1000000\], got 2\.5/);
  assert.throws(() => resolveParams(TRAIN_SCHEMA, { group_by_size: 'yes' as unknown as boolean }), /params: option "group_by_size" must be true or false, got "yes"/);
});

test('every option of every group has a doc, a valid default and a flag in its command\'s --help', () => {
  const commands: Array<[string, Schema<unknown>]> = [
    ['distill', DISTILL_SCHEMA], ['pretrain', PRETRAIN_SCHEMA], ['finetune', FINETUNE_SCHEMA], ['finetune-qa', QA_FINETUNE_SCHEMA],
  ];
  for (const [command, schema] of commands) {
    const help = cli(command, '--help').stdout.replace(/\s+/g, ' ');
    for (const [key, spec] of Object.entries(schema as Record<string, { default: unknown; check: (v: unknown) => string | null; doc: string }>)) {
      assert.ok(spec.doc.length > 10, `${command} ${key}: doc`);
      assert.equal(spec.check(spec.default), null, `${command} ${key}: the default passes its own check`);
      assert.ok(help.includes(`${flag(key)}`) && help.includes(`${spec.doc.replace(/\s+/g, ' ')} (default: ${JSON.stringify(spec.default)})`),
        `${command} --help lists ${flag(key)} with its doc and default`);
    }
  }
});

test('the library checks params as the command line does', async () => {
  const model = tinyBertDir(join(work, 'model'));
  const tsv = join(work, 'train.tsv');
  writeFileSync(tsv, 'sentence\tlabel\ngood\tpos\nbad\tneg\n');
  await assert.rejects(finetune({ model, train: tsv, out: join(work, 'ft'), params: { batch_size: 0 } }),
    /params: option "batch_size" must be an integer in \[1, 1000000\], got 0/);
  await assert.rejects(finetuneQa({ model, train: tsv, eval: tsv, out: join(work, 'qa'), params: { doc_stride: -1 } }),
    /params: option "doc_stride" must be an integer in \[0, 100000\], got -1/);
  assert.throws(() => pretrain({ config: 'tiny', data: work, out: join(work, 'pt'), params: { learning_rate: 2 } }),
    /params: option "learning_rate" must be a number in \[0, 1\], got 2/);
  assert.throws(() => pretrain({ config: 'tiny', data: work, out: join(work, 'pt'), params: { alpha_ce: 1 } as never }),
    /params: unknown option "alpha_ce"/);
});
