// Tests for src/text/: the default bert-base-uncased vocabulary, golden encodings, odd input,
// save -> fromDir round trips and error messages.
//
// Golden ids never come from the code under test: expected tokens are written by hand and turned
// into ids by looking them up in vocab.txt, whose md5 is the published bert-base-uncased one (a few
// ids are also spelled out as literals); longer cases are checked against `ref`, an independent
// port of Google BERT's tokenization.py (BasicTokenizer + WordpieceTokenizer) below.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  BERT_BASE_UNCASED_VOCAB_MD5,
  buildDefaultTokenizerDir,
  convertWordStartVocab,
  defaultTokenizerDir,
} from '../src/text/default_vocab.js';
import { BertTokenizer } from '../src/text/tokenizer.js';
import { parseVocabTxt } from '../src/text/vocab.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distilbert-tokenizer-'));
let counter = 0;
const fresh = (name: string): string => path.join(tmp, `${counter++}-${name}`);

const builtDir = fresh('bert-base-uncased');
const tok = buildDefaultTokenizerDir(builtDir);
const vocabText = fs.readFileSync(path.join(builtDir, 'vocab.txt'), 'utf8');
const vocabLines = vocabText.split('\n').slice(0, -1);
const vocabIndex = new Map(vocabLines.map((t, i) => [t, i]));

/** Id of a token by its line in vocab.txt. */
function id(token: string): number {
  const i = vocabIndex.get(token);
  assert.ok(i !== undefined, `${JSON.stringify(token)} is not in vocab.txt`);
  return i;
}

// ---- Independent reference: Google BERT tokenization.py (uncased), on vocab.txt -------------------

const isControl = (ch: string): boolean => ch !== '\t' && ch !== '\n' && ch !== '\r' && /^\p{C}$/u.test(ch);
const isWhitespace = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || /^\p{Zs}$/u.test(ch);
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /^\p{P}$/u.test(ch);
}
function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

function refWordPiece(word: string): string[] {
  const chars = [...word];
  if (chars.length > 100) return ['[UNK]'];
  const out: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let end = chars.length;
    let cur: string | undefined;
    while (start < end) {
      const sub = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
      if (vocabIndex.has(sub)) { cur = sub; break; }
      end--;
    }
    if (cur === undefined) return ['[UNK]'];
    out.push(cur);
    start = end;
  }
  return out;
}

/** Tokens of `[CLS] text [SEP]` by the reference algorithm. */
function ref(text: string): string[] {
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue; // lone surrogates are \p{Cs}: dropped too
    cleaned += isWhitespace(ch) ? ' ' : isCjk(cp) ? ` ${ch} ` : ch;
  }
  const pieces: string[] = [];
  for (const w of cleaned.split(' ').filter((s) => s !== '')) {
    const norm = w.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
    let cur = '';
    for (const ch of norm) {
      if (isPunctuation(ch)) {
        if (cur) pieces.push(cur);
        pieces.push(ch);
        cur = '';
      } else cur += ch;
    }
    if (cur) pieces.push(cur);
  }
  return ['[CLS]', ...pieces.flatMap(refWordPiece), '[SEP]'];
}

// ---- The vocabulary ------------------------------------------------------------------------------

test('default vocab.txt is bert-base-uncased: 30,522 lines, md5, special and known ids', () => {
  assert.equal(createHash('md5').update(vocabText).digest('hex'), '64800d5d8528ce344256daf115d4965e');
  assert.equal(BERT_BASE_UNCASED_VOCAB_MD5, '64800d5d8528ce344256daf115d4965e');
  assert.equal(vocabLines.length, 30522);
  assert.ok(vocabText.endsWith('##～\n') && !vocabText.endsWith('\n\n'), 'every line, the last included, ends with a newline');
  const known: [string, number][] = [
    ['[PAD]', 0], ['[unused0]', 1], ['[unused1]', 2], ['[UNK]', 100], ['[CLS]', 101], ['[SEP]', 102], ['[MASK]', 103],
    ['!', 999], [',', 1010], ['the', 1996], ['world', 2088], ['hello', 7592], ['##s', 2015],
  ];
  for (const [t, i] of known) assert.equal(id(t), i, t);
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 100, 101, 102, 103]);
  assert.equal(tok.vocabSize, 30522);
  assert.equal(tok.tokenToId('hello'), 7592);
  assert.equal(tok.idToToken(2088), 'world');
  assert.equal(tok.tokenToId('no-such-token'), undefined);
  assert.equal(tok.idToToken(30522), undefined);
  assert.equal(tok.idToToken(-1), undefined);
  assert.deepEqual(tok.vocab(), vocabLines);
});

test('word-start ("▁") vocabulary conversion rules', () => {
  assert.deepEqual(convertWordStartVocab(['[PAD]', '▁', '[unused1]', '[CLS]', '▁hello', 'ing', '▁!', '!', '▁[', '[']), [
    '[PAD]', '[unused0]', '[unused1]', '[CLS]', 'hello', '##ing', '!', '##!', '[', '##[',
  ]);
});

// ---- Golden encodings ----------------------------------------------------------------------------

const golden: { name: string; text: string; tokens: string[]; ids?: number[] }[] = [
  { name: 'plain English', text: 'The quick brown fox.', tokens: ['[CLS]', 'the', 'quick', 'brown', 'fox', '.', '[SEP]'] },
  { name: 'punctuation', text: 'Hello, world!!!', tokens: ['[CLS]', 'hello', ',', 'world', '!', '!', '!', '[SEP]'], ids: [101, 7592, 1010, 2088, 999, 999, 999, 102] },
  { name: 'accents lowercased and stripped', text: 'Café naïve RÉSUMÉ', tokens: ['[CLS]', 'cafe', 'naive', 'resume', '[SEP]'] },
  { name: 'combining marks dropped', text: 'Cafe\u0301 e\u0301\u0301', tokens: ['[CLS]', 'cafe', 'e', '[SEP]'] },
  // 字 is not in bert-base-uncased: were CJK characters not split, the whole word "中文字" would be one [UNK].
  { name: 'CJK: each ideograph its own word', text: '中文字 我日本人', tokens: ['[CLS]', '中', '文', '[UNK]', '我', '日', '本', '人', '[SEP]'] },
  { name: 'emoji', text: 'I love 🤗', tokens: ['[CLS]', 'i', 'love', '[UNK]', '[SEP]'], ids: [101, 1045, 2293, 100, 102] },
  { name: '150-letter word', text: 'x'.repeat(150), tokens: ['[CLS]', '[UNK]', '[SEP]'], ids: [101, 100, 102] },
  { name: '101-letter word', text: `ok ${'a'.repeat(101)} ok`, tokens: ['[CLS]', 'ok', '[UNK]', 'ok', '[SEP]'] },
  { name: 'empty string', text: '', tokens: ['[CLS]', '[SEP]'], ids: [101, 102] },
  { name: 'whitespace only', text: ' \t\n\r\u00a0\u3000 ', tokens: ['[CLS]', '[SEP]'], ids: [101, 102] },
  { name: 'lone surrogate', text: '\uD800', tokens: ['[CLS]', '[SEP]'], ids: [101, 102] },
  { name: 'lone surrogates inside text', text: 'hello\uDC00 \uD800world', tokens: ['[CLS]', 'hello', 'world', '[SEP]'] },
  { name: 'control characters and NUL', text: '\u0000hello\u0007 \u001bworld\u007f\u0085', tokens: ['[CLS]', 'hello', 'world', '[SEP]'] },
  { name: 'zero-width characters are removed (format chars)', text: 'hello\u200d \u200bworld\ufeff', tokens: ['[CLS]', 'hello', 'world', '[SEP]'] },
  { name: 'mixed scripts', text: 'Hello 世界 мир!', tokens: ['[CLS]', 'hello', '世', '[UNK]', 'м', '##и', '##р', '!', '[SEP]'] },
  { name: 'special tokens in the text are matched whole (as in HF)', text: 'the [MASK] sat', tokens: ['[CLS]', 'the', '[MASK]', 'sat', '[SEP]'] },
];

test('golden encodings from vocab.txt lookups', async () => {
  for (const g of golden) {
    const e = await tok.encode(g.text);
    assert.deepEqual(e.tokens, g.tokens, g.name);
    assert.deepEqual(e.ids, g.tokens.map(id), g.name);
    if (g.ids) assert.deepEqual(e.ids, g.ids, g.name);
    assert.deepEqual(e.typeIds, e.ids.map(() => 0), g.name);
    assert.deepEqual(e.attentionMask, e.ids.map(() => 1), g.name);
    assert.deepEqual(e.specialTokensMask, e.ids.map((_, i) => (i === 0 || i === e.ids.length - 1 ? 1 : 0)), g.name);
  }
});

test('the reference agrees with the hand-written golden tokens', () => {
  for (const g of golden) if (!g.text.includes('[MASK]')) assert.deepEqual(ref(g.text), g.tokens, g.name);
});

const hard = [
  'Unaffable tokenization of DistilBERT\'s 12-layer teacher (Sanh et al., 2019)!',
  'Ørsted, Ångström and Œuvre: ﬁne ligatures ½ ² ｆｕｌｌｗｉｄｔｈ',
  'مرحبا بالعالم — שלום עולם — Γειά σου κόσμε — Привет, мир',
  '$100 costs 50% more — “quoted” ‘text’ … €5 ¥10 #tag @user a.b-c_d',
  'tab\there\nnewline\r\nwindows  \u00a0nbsp\u3000ideographic',
  'zero\u200dwidth\u200bjoiner and soft\u00adhyphen \u2066isolate\u2069',
  'I ❤️ emoji 🤗 and 👨‍👩‍👧 families',
  `${'a'.repeat(100)} ${'ab'.repeat(50)}`,
  '日本語のテキストと한국어 텍스트',
  'e\u0301\u0301\u0301 n\u0303 A\u030a',
];

test('longer and odder texts match the reference BERT tokenizer', async () => {
  for (const text of hard) {
    const e = await tok.encode(text);
    const want = ref(text);
    assert.deepEqual(e.tokens, want, JSON.stringify(text));
    assert.deepEqual(e.ids, want.map(id), JSON.stringify(text));
  }
  // Exactly 100 characters is still WordPiece'd; 101 is [UNK] (max_input_chars_per_word).
  assert.ok(!(await tok.encode('a'.repeat(100))).ids.includes(100));
});

test('sentence pair: [CLS] A [SEP] B [SEP] with type ids 0/1', async () => {
  const e = await tok.encode('Who is John?', 'John is a teacher');
  const tokens = ['[CLS]', 'who', 'is', 'john', '?', '[SEP]', 'john', 'is', 'a', 'teacher', '[SEP]'];
  assert.deepEqual(e.tokens, tokens);
  assert.deepEqual(e.ids, tokens.map(id));
  assert.deepEqual(e.typeIds, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual(e.attentionMask, tokens.map(() => 1));
  const empty = await tok.encode('', '');
  assert.deepEqual(empty.ids, [101, 102, 102]);
  assert.deepEqual(empty.typeIds, [0, 0, 1]);
});

test('encodeBatch gives the ids of encode, in order; no truncation', async () => {
  const texts = [...golden.map((g) => g.text), ...hard, 'word '.repeat(700)];
  const batch = await tok.encodeBatch(texts);
  assert.equal(batch.length, texts.length);
  for (let i = 0; i < texts.length; i++) assert.deepEqual(batch[i], (await tok.encode(texts[i]!)).ids, JSON.stringify(texts[i]));
  assert.equal(batch[batch.length - 1]!.length, 702);
  assert.deepEqual(await tok.encodeBatch([]), []);
  await assert.rejects(tok.encodeBatch([1 as unknown as string]), TypeError);
  await assert.rejects(tok.encode(undefined as unknown as string), TypeError);
});

test('decode joins ## pieces and cleans up spaces', async () => {
  const e = await tok.encode('Unaffable tokenization, isn\'t it?');
  assert.equal(tok.decode(e.ids, { skipSpecialTokens: true }), 'unaffable tokenization, isn\'t it?');
  assert.equal(tok.decode(e.ids), '[CLS] unaffable tokenization, isn\'t it? [SEP]');
  // Without the transformers-level clean-up only the Rust decoder's per-token one applies (as in HF).
  assert.equal(tok.decode(e.ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false }), 'unaffable tokenization, isn \' t it?');
  assert.equal(tok.decode([tok.maskId, id('##s')]), '[MASK]s');
  assert.equal(tok.decode([]), '');
  assert.equal(tok.decode([101, 102], { skipSpecialTokens: true }), '');
  assert.throws(() => tok.decode([30522]), RangeError);
});

// ---- Files ---------------------------------------------------------------------------------------

test('save -> fromDir round trip: same hash, same encodings, HF side files', async () => {
  const dir = fresh('saved');
  tok.save(dir);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
  assert.equal(createHash('md5').update(fs.readFileSync(path.join(dir, 'vocab.txt'))).digest('hex'), BERT_BASE_UNCASED_VOCAB_MD5);
  assert.equal(createHash('sha256').update(fs.readFileSync(path.join(dir, 'tokenizer.json'))).digest('hex'), tok.hash);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  assert.equal(cfg.do_lower_case, true);
  assert.equal(cfg.tokenize_chinese_chars, true);
  assert.equal(cfg.strip_accents, null);
  assert.equal(cfg.model_max_length, 512);
  assert.equal(cfg.tokenizer_class, 'DistilBertTokenizer');
  assert.equal(cfg.clean_up_tokenization_spaces, true);
  assert.deepEqual([cfg.cls_token, cfg.sep_token, cfg.pad_token, cfg.unk_token, cfg.mask_token], ['[CLS]', '[SEP]', '[PAD]', '[UNK]', '[MASK]']);
  const json = JSON.parse(tok.toJson());
  assert.equal(json.model.type, 'WordPiece');
  assert.equal(json.model.max_input_chars_per_word, 100);
  assert.equal(json.normalizer.type, 'BertNormalizer');
  assert.equal(json.post_processor.type, 'TemplateProcessing');
  assert.deepEqual(json.added_tokens.map((t: { id: number }) => t.id), [0, 100, 101, 102, 103]);

  // From tokenizer.json, and from vocab.txt + tokenizer_config.json alone: the same tokenizer.
  const vocabOnly = fresh('vocab-only');
  fs.mkdirSync(vocabOnly);
  fs.copyFileSync(path.join(dir, 'vocab.txt'), path.join(vocabOnly, 'vocab.txt'));
  fs.copyFileSync(path.join(dir, 'tokenizer_config.json'), path.join(vocabOnly, 'tokenizer_config.json'));
  for (const loaded of [BertTokenizer.fromDir(dir), BertTokenizer.fromDir(vocabOnly)]) {
    assert.equal(loaded.hash, tok.hash);
    assert.deepEqual(loaded.settings, tok.settings);
    const texts = [...golden.map((g) => g.text), ...hard];
    assert.deepEqual(await loaded.encodeBatch(texts), await tok.encodeBatch(texts));
    assert.deepEqual(await loaded.encode('a b', 'c'), await tok.encode('a b', 'c'));
  }
  // tokenizer_class by option, and kept through a reload.
  const bertDir = fresh('bert-class');
  tok.save(bertDir, { tokenizerClass: 'BertTokenizer' });
  assert.equal(JSON.parse(fs.readFileSync(path.join(bertDir, 'tokenizer_config.json'), 'utf8')).tokenizer_class, 'BertTokenizer');
  assert.equal(BertTokenizer.fromDir(bertDir).settings.tokenizerClass, 'BertTokenizer');
});

test('defaultTokenizerDir() is built on first use and holds the same tokenizer', () => {
  const dir = defaultTokenizerDir();
  assert.ok(fs.existsSync(path.join(dir, 'tokenizer.json')));
  assert.equal(BertTokenizer.fromDir(dir).hash, tok.hash);
});

test('cased and accent options on a tiny vocabulary', async () => {
  const tiny = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'Café', 'cafe', 'Cafe', 'café', '!'];
  const ids = async (t: BertTokenizer, s: string): Promise<number[]> => (await t.encode(s)).ids;
  assert.deepEqual(await ids(BertTokenizer.fromTokens(tiny), 'Café!'), [2, 6, 9, 3]);
  assert.deepEqual(await ids(BertTokenizer.fromTokens(tiny, { lowercase: false }), 'Café!'), [2, 5, 9, 3]);
  assert.deepEqual(await ids(BertTokenizer.fromTokens(tiny, { lowercase: false, stripAccents: true }), 'Café!'), [2, 7, 9, 3]);
  assert.deepEqual(await ids(BertTokenizer.fromTokens(tiny, { lowercase: true, stripAccents: false }), 'Café!'), [2, 8, 9, 3]);
  const cased = BertTokenizer.fromTokens(tiny, { lowercase: false, tokenizerClass: 'BertTokenizer' });
  const dir = fresh('cased');
  cased.save(dir);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  assert.deepEqual([cfg.do_lower_case, cfg.strip_accents, cfg.tokenizer_class], [false, null, 'BertTokenizer']);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8'), tiny.map((t) => `${t}\n`).join(''));
  const back = BertTokenizer.fromDir(dir);
  assert.equal(back.hash, cased.hash);
  assert.deepEqual(await ids(back, 'Café!'), [2, 5, 9, 3]);
});

test('errors name the problem and the fix', () => {
  const empty = fresh('empty');
  fs.mkdirSync(empty);
  assert.throws(() => BertTokenizer.fromDir(empty), (e: Error) => e.message.includes(empty) && /tokenizer\.json/.test(e.message) && /vocab\.txt/.test(e.message) && /npm run setup/.test(e.message));
  assert.throws(() => BertTokenizer.fromDir(fresh('missing')), /tokenizer directory not found/);
  assert.throws(() => BertTokenizer.fromTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a']), /lacks \[MASK\]/);
  assert.throws(() => parseVocabTxt('a\nb\na\n'), /appears on lines 1 and 3/);
  assert.throws(() => parseVocabTxt('a\n\nb\n'), /line 2 is empty/);
  assert.deepEqual(parseVocabTxt('a\r\nb'), ['a', 'b']);
  const notWp = fresh('bpe');
  fs.mkdirSync(notWp);
  fs.writeFileSync(path.join(notWp, 'tokenizer.json'), JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: {}, merges: [] } }));
  assert.throws(() => BertTokenizer.fromDir(notWp), /not WordPiece/);
  fs.writeFileSync(path.join(notWp, 'tokenizer.json'), '{"model": ');
  assert.throws(() => BertTokenizer.fromDir(notWp), /not valid JSON/);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
