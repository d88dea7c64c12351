// CI size of the reader fuzzers (test/robustness/fuzz/; 10,000 cases each in `npm run
// test:robustness`): every mutated safetensors, config.json, tokenizer.json, vocab.txt, dataset and
// CSV/TSV/JSONL file, and every bad native-addon call, ends in success or an Error naming the file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_TARGETS } from './robustness/fuzz/all.js';
import { fuzz } from './robustness/fuzz/driver.js';

for (const target of ALL_TARGETS) {
  test(`fuzz ${target.name}: 300 seeded cases, no crash, hang or unnamed error`, async (t) => {
    const r = await fuzz(target.name, { seed: 7, cases: 300 });
    t.diagnostic(`${r.cases} cases: ${r.accepted} accepted, ${r.rejected} rejected with the file named`);
    assert.equal(r.failed, 0, JSON.stringify(r.failures, null, 2));
    assert.equal(r.cases, 300);
  });
}
