// CI run of test/robustness/disk.ts: prepare and pretrain on a full tmpfs stop with a clear ENOSPC
// error and leave the previous dataset and checkpoint usable (needs root to mount; skipped otherwise).
import * as fs from 'node:fs';
import { after, test } from 'node:test';
import { tinySetup, workDir } from './robustness/common.js';
import { fullDisk } from './robustness/disk.js';

const work = workDir('disk');
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('a full disk stops prepare and pretrain with ENOSPC named, the previous data and checkpoint intact', (t) => {
  const r = fullDisk(tinySetup(work, 80), work);
  if (r.skipped) t.skip(r.skipped);
  else for (const line of r.errors) t.diagnostic(line);
});
