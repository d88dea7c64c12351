// Perl's POD (perlpod(1)) -> prose paragraphs, for Debian perl-doc's manual pages (perlintro.pod,
// perlfaq*.pod, ...). POD is paragraph based: a command paragraph starts with "=" (headings, list
// brackets, =for/=begin blocks: markup, except the text after an "=item *" or "=item 1." marker),
// a verbatim paragraph starts with white space (code: dropped), every other paragraph is prose
// with formatting codes (B<bold>, C<code>, L<link>, E<entity>, ...) to resolve.
import { countWords } from './clean.js';

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', verbar: '|', sol: '/', quot: '"', amp: '&', apos: "'", nbsp: ' ' };

/** E<name> / E<0x263A> / E<9786> -> the character. */
function entity(e: string): string {
  if (/^0x[0-9a-f]+$/i.test(e)) return String.fromCodePoint(parseInt(e, 16));
  if (/^0[0-7]*$/.test(e)) return String.fromCodePoint(parseInt(e, 8));
  if (/^\d+$/.test(e)) return String.fromCodePoint(Number(e));
  return ENTITIES[e] ?? '';
}

/** L<text|target> -> text; L<name/"section"> -> section in name; L<name> -> name. */
function link(l: string): string {
  const bar = l.indexOf('|');
  if (bar >= 0) return l.slice(0, bar);
  const m = /^(.*?)\/"?([^"]*)"?$/.exec(l);
  if (m) return m[1] ? `${m[2]} in ${m[1]}` : m[2]!;
  return l.replace(/^"|"$/g, '');
}

/** Resolve POD formatting codes, innermost first; the C<< $a <=> $b >> form may hold angle brackets. */
export function stripPodCodes(s: string): string {
  let t = s.replace(/([A-Z])<{2,}\s+(.*?)\s+>{2,}/g, (_, c: string, x: string) => `${c}<${x.replace(/[<>]/g, (b) => (b === '<' ? 'E<lt>' : 'E<gt>'))}>`);
  for (let prev = ''; prev !== t; ) {
    prev = t;
    t = t.replace(/([A-Z])<([^<>]*)>/g, (_, c: string, x: string) =>
      c === 'E' ? `\u0000E${x}\u0000` : c === 'L' ? link(x) : c === 'X' || c === 'Z' ? '' : x,
    );
  }
  // Entities last, so that a decoded "<" or ">" is not read as a code's bracket.
  return t.replace(/\u0000E([^\u0000]*)\u0000/g, (_, e: string) => entity(e));
}

/** The prose paragraphs of a POD document and the number of words dropped as structure or code. */
export function stripPod(text: string): { paragraphs: string[]; markupWords: number } {
  const paragraphs: string[] = [];
  let markupWords = 0;
  let inPod = false;
  /** Inside =begin NAME ... =end NAME (formatter-specific content). */
  let inBegin = false;
  for (const block of text.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/)) {
    const para = block.replace(/^\n+/, '');
    if (para.trim() === '') continue;
    const cmd = /^=([a-zA-Z]\w*)\s*([\s\S]*)$/.exec(para);
    if (cmd) {
      const [, name, rest] = cmd as unknown as [string, string, string];
      inPod = name !== 'cut';
      if (name === 'begin') inBegin = true;
      else if (name === 'end') inBegin = false;
      const item = name === 'item' && !inBegin ? /^(?:\*|\d+\.?)\s+([\s\S]+)$/.exec(rest) : null;
      if (item) paragraphs.push(stripPodCodes(item[1]!));
      else markupWords += countWords(rest);
      continue;
    }
    if (!inPod || inBegin || /^[ \t]/.test(para)) {
      markupWords += countWords(para);
      continue;
    }
    paragraphs.push(stripPodCodes(para));
  }
  return { paragraphs, markupWords };
}
