// Tokenize labelled examples for fine-tuning and inference: [CLS] A [SEP] (B [SEP]), token types 0
// for A and 1 for B, cut to max_length by removing tokens from the longer text first (HF
// truncation="longest_first").
import type { Sequence } from '../../data/padding.js';
import type { BertTokenizer } from '../../text/tokenizer.js';

/** Content tokens of each text (the tokenizer's [CLS]/[SEP] removed). */
async function contentIds(tok: BertTokenizer, texts: string[]): Promise<number[][]> {
  const out: number[][] = [];
  const chunk = 2048;
  for (let i = 0; i < texts.length; i += chunk)
    for (const ids of await tok.encodeBatch(texts.slice(i, i + chunk))) out.push(ids.slice(1, -1));
  return out;
}

export async function encodePairs(tok: BertTokenizer, texts: string[], pairs: Array<string | undefined> | null,
  maxLength: number): Promise<Sequence[]> {
  if (maxLength < 4) throw new Error(`max_length ${maxLength} leaves no room for text between [CLS] and [SEP]`);
  const a = await contentIds(tok, texts);
  const b = pairs ? await contentIds(tok, pairs.map((p) => p ?? '')) : null;
  return a.map((ta, i) => {
    const tb = b && pairs![i] !== undefined ? b[i]! : null;
    const room = maxLength - (tb ? 3 : 2);
    let na = ta.length, nb = tb ? tb.length : 0;
    while (na + nb > room) {
      if (na >= nb) na--;
      else nb--;
    }
    const ids = [tok.clsId, ...ta.slice(0, na), tok.sepId];
    const typeIds = new Array<number>(ids.length).fill(0);
    if (tb) {
      ids.push(...tb.slice(0, nb), tok.sepId);
      typeIds.push(...new Array<number>(nb + 1).fill(1));
    }
    return { ids, typeIds };
  });
}
