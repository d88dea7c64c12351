// The "post_processor" of a tokenizer.json, checked before the Rust `tokenizers` crate sees it. The
// crate deserializes a TemplateProcessing without checking that the special tokens its templates
// name exist, then panics on the first encode, inside a thread that cannot unwind: the whole process
// aborts (found by test/robustness fuzzing). BERT files use TemplateProcessing or the older
// BertProcessing; both are checked here and their special-token ids returned, so the caller can
// check them against the vocabulary size too.

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isId = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0 && (x as number) < 2 ** 32;

/** The special-token ids `pp` adds, after checking its structure; throws naming `source` and the JSON path. */
export function postProcessorSpecialIds(pp: unknown, source: string): number[] {
  const fail = (where: string, what: string): never => {
    throw new Error(`${source}: post_processor${where} ${what}; re-save the tokenizer with transformers or this project`);
  };
  if (pp === null || pp === undefined) return [];
  if (!isObject(pp)) return fail('', 'must be an object or null');
  if (pp.type === 'BertProcessing') {
    return (['cls', 'sep'] as const).map((k) => {
      const v = pp[k];
      return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && isId(v[1]) ? v[1] : fail(`.${k}`, 'must be [token, id]');
    });
  }
  if (pp.type !== 'TemplateProcessing')
    return fail('.type', `${JSON.stringify(pp.type)} is not supported (BERT tokenizers use "TemplateProcessing" or "BertProcessing")`);
  const specials = isObject(pp.special_tokens) ? pp.special_tokens : fail('.special_tokens', 'must be an object');
  const ids: number[] = [];
  for (const [name, t] of Object.entries(specials)) {
    const where = `.special_tokens[${JSON.stringify(name)}]`;
    if (!isObject(t) || t.id !== name || !Array.isArray(t.ids) || !Array.isArray(t.tokens) || t.ids.length === 0 ||
      t.ids.length !== t.tokens.length || !t.ids.every(isId) || !t.tokens.every((x) => typeof x === 'string'))
      fail(where, `must be {id: ${JSON.stringify(name)}, ids: [...], tokens: [...]} with as many ids as tokens`);
    ids.push(...(t as { ids: number[] }).ids);
  }
  for (const [key, sequences] of [['single', ['A']], ['pair', ['A', 'B']]] as const) {
    const pieces = Array.isArray(pp[key]) ? pp[key] : fail(`.${key}`, 'must be a list of pieces');
    const seen = new Set<string>();
    pieces.forEach((piece, i) => {
      const where = `.${key}[${i}]`;
      const kind = isObject(piece) && Object.keys(piece).length === 1 ? Object.keys(piece)[0]! : '';
      const body = isObject(piece) ? piece[kind] : undefined;
      if (!(kind === 'SpecialToken' || kind === 'Sequence') || !isObject(body) || !isId(body.type_id) || typeof body.id !== 'string')
        fail(where, 'must be {"SpecialToken": {id, type_id}} or {"Sequence": {id, type_id}}');
      const id = (body as { id: string }).id;
      if (kind === 'SpecialToken' && !Object.hasOwn(specials, id)) fail(where, `names special token ${JSON.stringify(id)}, which special_tokens does not define`);
      if (kind === 'Sequence') {
        if (!(sequences as readonly string[]).includes(id)) fail(where, `names sequence ${JSON.stringify(id)}; the ${key} template may use ${sequences.join(' and ')}`);
        seen.add(id);
      }
    });
    if (seen.size !== sequences.length) fail(`.${key}`, `must place sequence${sequences.length > 1 ? 's' : ''} ${sequences.join(' and ')}`);
  }
  return ids;
}
