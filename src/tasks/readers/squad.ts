// The SQuAD v1.1 reader (issue 4): {version, data: [{title, paragraphs: [{context, qas}]}]}, with
// every error naming the file and the JSON path.
import * as fs from 'node:fs';

export interface SquadAnswer {
  text: string;
  /** Character offset of the answer in the context (UTF-16 code units, as Python 3 indexes the same BMP text). */
  answer_start: number;
}

export interface SquadExample {
  id: string;
  title: string;
  context: string;
  question: string;
  /** One answer in the v1.1 training set, up to a few (from different annotators) in dev. */
  answers: SquadAnswer[];
}

export interface SquadData {
  version: string | null;
  examples: SquadExample[];
  /** Answers whose `context.slice(answer_start, answer_start + text.length)` differs from `text` (kept). */
  misaligned: number;
}

/**
 * A SQuAD v1.1 file: {version, data: [{title, paragraphs: [{context, qas: [{id, question, answers:
 * [{text, answer_start}]}]}]}]}. Errors name the file and the JSON path; question ids must be unique
 * and every question needs an answer (SQuAD 2.0's unanswerable questions are rejected).
 */
export function parseSquad(json: string, file = '<squad>'): SquadData {
  let root: unknown;
  try {
    root = JSON.parse(json.replace(/^\ufeff/, ''));
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const fail = (where: string, what: string): never => { throw new Error(`${file}: ${where}: ${what}`); };
  const obj = (v: unknown, where: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(where, 'expected an object');
  const arr = (v: unknown, where: string): unknown[] => (Array.isArray(v) ? v : fail(where, `expected an array, got ${JSON.stringify(v)?.slice(0, 40)}`));
  const str = (v: unknown, where: string): string => (typeof v === 'string' ? v : fail(where, `expected a string, got ${JSON.stringify(v)?.slice(0, 40)}`));
  const top = obj(root, '(top level)');
  const version = typeof top.version === 'string' ? top.version : null;
  const examples: SquadExample[] = [];
  const seen = new Set<string>();
  let misaligned = 0;
  arr(top.data, 'data').forEach((a, ai) => {
    const art = obj(a, `data[${ai}]`);
    const title = art.title === undefined ? '' : str(art.title, `data[${ai}].title`);
    arr(art.paragraphs, `data[${ai}].paragraphs`).forEach((p, pi) => {
      const pw = `data[${ai}].paragraphs[${pi}]`;
      const para = obj(p, pw);
      const context = str(para.context, `${pw}.context`);
      arr(para.qas, `${pw}.qas`).forEach((q, qi) => {
        const qw = `${pw}.qas[${qi}]`;
        const qa = obj(q, qw);
        const id = str(qa.id, `${qw}.id`);
        if (seen.has(id)) fail(`${qw}.id`, `duplicate question id ${JSON.stringify(id)}`);
        seen.add(id);
        if (qa.is_impossible === true) fail(qw, 'unanswerable question (SQuAD 2.0); only v1.1 is supported');
        const answers = arr(qa.answers, `${qw}.answers`).map((x, k): SquadAnswer => {
          const aw = `${qw}.answers[${k}]`;
          const ans = obj(x, aw);
          const text = str(ans.text, `${aw}.text`);
          const start = ans.answer_start;
          if (typeof start !== 'number' || !Number.isInteger(start) || start < 0 || start + text.length > context.length)
            fail(`${aw}.answer_start`, `expected an integer in [0, ${context.length - text.length}] (context length ${context.length}, answer length ${text.length}), got ${JSON.stringify(start)}`);
          if (context.slice(start as number, (start as number) + text.length) !== text) misaligned++;
          return { text, answer_start: start as number };
        });
        if (answers.length === 0) fail(`${qw}.answers`, 'no answers (SQuAD v1.1 questions have at least one)');
        examples.push({ id, title, context, question: str(qa.question, `${qw}.question`), answers });
      });
    });
  });
  if (examples.length === 0) fail('data', 'no questions');
  return { version, examples, misaligned };
}

/** Read a SQuAD v1.1 JSON file (train-v1.1.json, dev-v1.1.json). */
export function readSquad(file: string): SquadData {
  return parseSquad(fs.readFileSync(file, 'utf8'), file);
}
