// test/robustness/numerics.ts in CI (it is small): NaN/Inf in a loss term or a gradient stops the run
// naming the step, the term and the parameter, and the last checkpoint resumes exactly.
import * as fs from 'node:fs';
import { after, test } from 'node:test';
import { tinySetup, workDir } from './robustness/common.js';
import { numerics } from './robustness/numerics.js';

const work = workDir('numerics');
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('NaN and Inf in loss terms and gradients stop with step, term and parameter; the resume is exact', (t) => {
  for (const m of numerics(tinySetup(work, 80), work)) t.diagnostic(m);
});
