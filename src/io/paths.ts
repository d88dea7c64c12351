// Where the checkout is: generated assets (the default tokenizer, the fine-tuning data sets) live
// under <root>/assets, gitignored. Kept free of heavy imports so any module can use it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: the nearest directory above this file whose package.json is ours. */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'distilbert-ts') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the distilbert-ts package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
