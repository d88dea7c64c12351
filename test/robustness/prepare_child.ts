// `prepare()` on a corpus of tiny-vocabulary words ("w00".."w93") with a whitespace tokenizer, run
// as a child by memory.ts: BERT's tokenizer runs at about 2 MB/s on the 2-core test machine, which
// would take 17 minutes for the 2 GB corpus, while everything prepare itself holds (batches in
// flight, shard buffers, token counts, order.bin) is the same. Usage: node prepare_child.js INPUT OUT;
// prints the counts and its own peak RSS (VmHWM) at the end, which polling from outside could miss.
import { readFileSync } from 'node:fs';
import { prepare, type PrepareTokenizer } from '../../src/data/prepare.js';

const [input, out] = process.argv.slice(2);
const tokenizer: PrepareTokenizer = {
  vocabSize: 99, padId: 0, unkId: 1, clsId: 2, sepId: 3, maskId: 4, hash: 'whitespace-w00-w93',
  async encodeBatch(texts) {
    return texts.map((t) => {
      const words = t.split(' ');
      const ids = new Array<number>(words.length + 2);
      ids[0] = 2;
      for (let i = 0; i < words.length; i++) ids[i + 1] = 5 + Number(words[i]!.slice(1));
      ids[words.length + 1] = 3;
      return ids;
    });
  },
};
const r = await prepare({ inputs: [input!], tokenizer, out: out!, maxLen: 40, minLen: 5, log: () => {} });
const hwmKb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
console.log(JSON.stringify({ sequences: r.meta.num_sequences, tokens: r.meta.num_tokens, seconds: r.seconds, peakRssMb: hwmKb / 1024 }));
