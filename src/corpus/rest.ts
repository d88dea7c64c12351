// reStructuredText -> prose paragraphs, for the Sphinx sources that Debian documentation packages
// ship (Python's and the Linux kernel's html/_sources/*.txt). Not a reST parser: a line scanner
// that knows enough of the block structure to drop what is not prose (section titles and their
// adornments, literal blocks after "::", doctest blocks, tables, comments, targets, and directives
// other than admonitions and object descriptions, whose bodies are the prose of an API reference),
// then turns inline markup (roles, literals, emphasis, references) into its plain text.
import { countWords } from './clean.js';

/** Directives whose argument and body are prose ("Be cautious when parsing..."), body may start at once. */
const ADMONITIONS = new Set(['note', 'warning', 'attention', 'caution', 'danger', 'error', 'hint', 'important', 'tip', 'seealso', 'impl-detail']);
/** Directives whose argument is a version or title (markup) and whose body is prose, possibly at once. */
const TITLED = new Set(['versionadded', 'versionchanged', 'deprecated', 'deprecated-removed', 'admonition', 'topic', 'sidebar', 'only', 'container', 'glossary']);
/**
 * Object descriptions: the argument and any continuation lines up to the first blank line are a
 * signature (markup); the body describes the object in prose. Sphinx domain prefixes ("py:",
 * "c:", "cpp:", "rst:") are stripped before the lookup.
 */
const DESCRIPTIONS = new Set([
  'function', 'method', 'class', 'attribute', 'data', 'exception', 'decorator', 'decoratormethod', 'classmethod',
  'staticmethod', 'abstractmethod', 'coroutinefunction', 'coroutinemethod', 'awaitablefunction', 'awaitablemethod',
  'property', 'module', 'describe', 'object', 'opcode', 'cmdoption', 'option', 'envvar', 'pdbcommand', '2to3fixer',
  'type', 'member', 'var', 'macro', 'struct', 'enum', 'enumerator', 'union', 'directive', 'role',
]);

/** A line made of one punctuation character repeated: a section title's adornment, or a transition. */
const ADORNMENT = /^([=\-~^"'`#*+<>_:.!$%&,;?@\\|/])\1{2,}\s*$/;
/** First line of a grid table (+----+----+) or a simple table (====  ====). */
const TABLE_RULE = /^(?:\+[-=+]+\+|=+(?: +=+)+)\s*$/;
/** Bullet and enumerated list markers: "* ", "- ", "1. ", "#. ", "(a) ", "2) ". */
const LIST_MARKER = /^(?:[-*+•]|\d+[.)]|#\.|[a-zA-Z][.)]|\((?:\d+|[a-zA-Z#])\))\s+/;
/** A field list item ":param x: ..." or ":Author: ...". */
const FIELD = /^:([^:`\s][^:`]*):(?:\s+|$)/;
/** ".. name:: argument" (name possibly with a domain prefix, as "c:function"). */
const DIRECTIVE = /^\.\.\s+([\w.+-]+(?::[\w.+-]+)*)::(?:\s+(.*))?$/;

interface Paragraph {
  lines: string[];
  /** Indent of the first line (of a list item: of its marker). */
  indent: number;
  /** Indent continuation lines must have (text after a list marker); -1: any deeper than `indent` (field lists). */
  textIndent: number;
  /** Paragraph is a list item: a line at `indent` with a marker starts the next item. */
  item: boolean;
}

/** The plain text of one paragraph's inline markup (roles, literals, emphasis, references, escapes). */
export function stripInline(s: string): string {
  return (
    s
      // :rfc:`7159` -> RFC 7159 and :pep:`8` -> PEP 8, as Sphinx renders them.
      .replace(/:(rfc|pep):`([^`<]+?)(?:\s*<[^`]*>)?`/gi, (_, r: string, n: string) => `${r.toUpperCase()} ${n.trim()}`)
      // :role:`title <target>` -> title; :role:`~a.b.c` -> c; :ref:`some-label` -> some label.
      .replace(/(?::[\w.+-]+)+:`((?:[^`\\]|\\.)*)`/g, (m: string, body: string) => {
        const titled = /^(.*?)\s*<[^<>]*>$/s.exec(body);
        if (titled && titled[1]) return titled[1];
        let t = body.replace(/^!/, '');
        if (t.startsWith('~')) t = t.slice(1).split('.').pop() ?? t;
        return /^:(?:ref|doc|term):/.test(m) && !/\s/.test(t) ? (t.split('/').pop() ?? t).replace(/[-_]+/g, ' ') : t;
      })
      // ``literal`` -> literal
      .replace(/``(.+?)``/g, '$1')
      // `text <url>`_ and `text`_ (hyperlink references) and `text` (default role) -> text
      .replace(/`([^`]+?)\s*<[^`<>]*>`__?/g, '$1')
      .replace(/`([^`]+)`(?:__?)?/g, '$1')
      // **strong** and *emphasis* (not *args or a lone asterisk)
      .replace(/\*\*(\S(?:.*?\S)?)\*\*/g, '$1')
      .replace(/(?<![\w*\\])\*(\S(?:[^*]*?\S)?)\*(?![\w*])/g, '$1')
      // footnote and citation references [1]_ [#note]_ [CIT2002]_ disappear
      .replace(/\s*\[(?:#[\w-]*|\*|\d+|[A-Za-z][\w-]*)\]_/g, '')
      // |substitution| -> substitution; word_ (named reference) -> word
      .replace(/\|([^|\s](?:[^|]*[^|\s])?)\|(?:__?)?/g, '$1')
      .replace(/\b([A-Za-z0-9][\w-]*[A-Za-z0-9])__?(?=[\s.,;:!?)]|$)/g, '$1')
      // "\ " joins; "\*" is a literal asterisk
      .replace(/\\ /g, '')
      .replace(/\\(.)/g, '$1')
  );
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * The prose paragraphs of a reST document, inline markup resolved, each on one line, and the
 * number of words dropped as structure (titles, code, tables, directives, field names).
 */
export function stripRest(text: string): { paragraphs: string[]; markupWords: number } {
  const lines = text.replace(/\r\n?/g, '\n').split('\n').map((l) => l.replace(/\t/g, '        ').trimEnd());
  const paragraphs: string[] = [];
  let markupWords = 0;
  let para: Paragraph | null = null;
  /** Skip blank lines and lines indented deeper than this (a literal block, a directive body); null: not skipping. */
  let skipDeeperThan: number | null = null;
  /** Skip every line up to the next blank one (a table, a doctest block, a directive's signature lines). */
  let skipToBlank = false;
  /** After an admonition or version directive: its option lines (":class: x") are markup. */
  let optionsOf: number | null = null;

  const drop = (s: string): void => {
    markupWords += countWords(s);
  };
  const flush = (): void => {
    if (!para) return;
    let joined = para.lines.join(' ');
    const literal = /::$/.test(joined);
    if (literal) {
      // "Example::" -> "Example:"; "Example ::" and a lone "::" vanish (the reST rules).
      joined = /\s::$/.test(joined) || joined === '::' ? joined.replace(/\s*::$/, '') : joined.slice(0, -1);
      skipDeeperThan = para.textIndent >= 0 ? para.textIndent : para.indent;
    }
    const plain = stripInline(joined).trim();
    if (plain) paragraphs.push(plain);
    para = null;
  };

  for (const line of lines) {
    const indent = indentOf(line);
    const body = line.trim();
    if (skipDeeperThan !== null) {
      if (body === '' || indent > skipDeeperThan) {
        drop(body);
        continue;
      }
      skipDeeperThan = null;
    }
    if (body === '') {
      flush();
      skipToBlank = false;
      optionsOf = null;
      continue;
    }
    if (skipToBlank) {
      drop(body);
      continue;
    }
    if (optionsOf !== null) {
      if (indent > optionsOf && FIELD.test(body)) {
        drop(body);
        continue;
      }
      optionsOf = null;
    }
    if (ADORNMENT.test(body)) {
      // An underline: the paragraph's last line was a section title. An overline or a transition: nothing to keep.
      const title = para?.lines.pop();
      if (title !== undefined) drop(title);
      flush();
      drop(body);
      continue;
    }
    const startsBlock = para === null || (para.item && indent === para.indent && LIST_MARKER.test(body));
    if (!startsBlock && para && (para.textIndent < 0 ? indent > para.indent : indent === para.textIndent)) {
      para.lines.push(body);
      continue;
    }
    // A new block: a deeper or shallower line starts one too (definition list bodies, block quotes).
    flush();
    if (TABLE_RULE.test(body) || body.startsWith('>>>')) {
      drop(body);
      skipToBlank = true;
      continue;
    }
    if (body.startsWith('..')) {
      const d = DIRECTIVE.exec(body);
      const name = d ? d[1]!.replace(/^(?:py|c|cpp|js|rst|std):/, '') : '';
      if (d && ADMONITIONS.has(name)) {
        optionsOf = indent;
        if (d[2]) para = { lines: [d[2]], indent, textIndent: -1, item: false };
      } else if (d && TITLED.has(name)) {
        drop(d[2] ?? '');
        optionsOf = indent;
      } else if (d && DESCRIPTIONS.has(name)) {
        drop(body);
        skipToBlank = true;
      } else {
        // Comments, targets (.. _label:), footnotes, substitutions and every other directive (code,
        // tables, figures, toctrees, includes, math): the line and its indented body go.
        drop(body);
        skipDeeperThan = indent;
      }
      continue;
    }
    const marker = LIST_MARKER.exec(body);
    if (marker) {
      para = { lines: [body.slice(marker[0].length)], indent, textIndent: indent + marker[0].length, item: true };
      continue;
    }
    const field = FIELD.exec(body);
    if (field) {
      drop(field[0]);
      para = { lines: [body.slice(field[0].length)], indent, textIndent: -1, item: false };
      continue;
    }
    para = { lines: [body.replace(/^\|\s+/, '')], indent, textIndent: indent, item: false };
  }
  flush();
  return { paragraphs, markupWords };
}
