// `node dist/src/text/build_default.js [outDir]`: build the default bert-base-uncased tokenizer
// directory (run by scripts/setup.sh when assets/bert-base-uncased is missing). Prints the directory.

import * as path from 'node:path';
import { buildDefaultTokenizerDir, defaultTokenizerDir } from './default_vocab.js';

const out = process.argv[2];
if (out === undefined) {
  console.log(defaultTokenizerDir());
} else {
  const tok = buildDefaultTokenizerDir(out);
  console.log(`${path.resolve(out)} (${tok.vocabSize} tokens, tokenizer.json sha256 ${tok.hash})`);
}
