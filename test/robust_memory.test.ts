// CI size of test/robustness/memory.ts (2 GB, 1M lines and 2,000 steps in `npm run
// test:robustness`): prepare's RSS stays bounded, predict streams its output, a distillation's RSS
// stops growing after warm-up.
import * as fs from 'node:fs';
import { after, test } from 'node:test';
import { workDir } from './robustness/common.js';
import { distillMemory, predictMemory, prepareMemory } from './robustness/memory.js';

const work = workDir('memory');
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('prepare of a 32 MB corpus stays under 256 MB RSS', async (t) => {
  const r = await prepareMemory(work, 32 << 20, 256);
  t.diagnostic(`peak RSS ${r.peakRssMb.toFixed(0)} MB for ${r.corpusMb} MB`);
});

test('predict over 20,000 lines writes as it goes in bounded memory', async (t) => {
  const r = await predictMemory(work, 20_000, 400);
  t.diagnostic(`peak RSS ${r.peakRssMb.toFixed(0)} MB; ${(100 * r.firstOutputShare).toFixed(0)}% of the output there at its first sight, ${r.growths} growths`);
});

test('a 400-step distillation shows no RSS growth after warm-up', (t) => {
  const r = distillMemory(work, 400, 5);
  t.diagnostic(`RSS ${r.warmMb.toFixed(1)} MB after warm-up, ${r.lateMb.toFixed(1)} MB at the end`);
});
