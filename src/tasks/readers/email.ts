// The readable text of a raw e-mail (RFC 5322 + MIME), for the SpamAssassin data set of
// src/tasks/readers/datasets.ts: the decoded Subject and the body's text parts (quoted-printable and
// base64 decoded, HTML tags removed), without headers or attachments. A small reader for that
// corpus, not a general MIME library: malformed parts degrade to their raw text, never throw.

export interface Message {
  /** Header fields in order, names lowercased, folded lines joined. */
  headers: Array<[string, string]>;
  body: string;
}

/** Split a message at its first blank line; a leading mbox "From " line is not a header. */
export function splitMessage(raw: string): Message {
  const text = raw.replace(/\r\n?/g, '\n');
  // A part may start with its blank line (no headers of its own).
  const end = text.startsWith('\n') ? -1 : text.indexOf('\n\n');
  const head = text.startsWith('\n') ? '' : end < 0 ? text : text.slice(0, end);
  const body = text.startsWith('\n') ? text.slice(1) : end < 0 ? '' : text.slice(end + 2);
  const headers: Array<[string, string]> = [];
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && headers.length > 0) headers[headers.length - 1]![1] += ` ${line.trim()}`;
    else {
      const m = /^([!-9;-~]+):\s*(.*)$/.exec(line);
      if (m) headers.push([m[1]!.toLowerCase(), m[2]!]);
    }
  }
  return { headers, body };
}

const header = (m: Message, name: string): string | undefined => m.headers.find(([k]) => k === name)?.[1];

/** `type/subtype` lowercased and the parameters (charset, boundary, ...) of a Content-Type value. */
function contentType(value: string | undefined): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  if (value === undefined) return { type: 'text/plain', params };
  const [type, ...rest] = value.split(';');
  for (const p of rest) {
    const m = /^\s*([^=\s]+)\s*=\s*"?([^"]*)"?/.exec(p);
    if (m) params.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return { type: (type ?? '').trim().toLowerCase() || 'text/plain', params };
}

/** Bytes of a string whose characters are bytes (< 256) or, beyond that, already-decoded text (kept as UTF-8). */
function bytesOf(s: string): Uint8Array {
  return /^[\x00-\xff]*$/.test(s) ? Buffer.from(s, 'latin1') : Buffer.from(s, 'utf8');
}

/** Text of `bytes` in `charset`: the named one when Node knows it, else UTF-8 when valid, else Windows-1252. */
export function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  const tryDecode = (cs: string): string | null => {
    try {
      return new TextDecoder(cs, { fatal: true }).decode(bytes);
    } catch {
      return null;
    }
  };
  return (charset ? tryDecode(charset.toLowerCase()) : null) ?? tryDecode('utf-8') ?? new TextDecoder('windows-1252').decode(bytes);
}

export function decodeQuotedPrintable(s: string): Uint8Array {
  const src = bytesOf(s.replace(/=[ \t]*\n/g, '')); // soft line breaks
  const out = new Uint8Array(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x3d && i + 2 < src.length && /^[0-9A-Fa-f]{2}$/.test(String.fromCharCode(src[i + 1]!, src[i + 2]!))) {
      out[n++] = parseInt(String.fromCharCode(src[i + 1]!, src[i + 2]!), 16);
      i += 2;
    } else out[n++] = b;
  }
  return out.subarray(0, n);
}

/** RFC 2047 encoded words (=?charset?B|Q?text?=) in a header value; whitespace between two of them is dropped. */
export function decodeHeader(value: string): string {
  const word = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
  // Raw 8-bit text outside encoded words (not allowed, but common in spam): UTF-8 when valid, else Windows-1252.
  return decodeBytes(bytesOf(value), undefined).replace(/(\?=)\s+(?==\?)/g, '$1').replace(word, (_all, cs: string, enc: string, text: string) => {
    const bytes = enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeQuotedPrintable(text.replace(/_/g, ' '));
    return decodeBytes(bytes, cs.replace(/\*.*$/, '')); // RFC 2231 language suffix
  });
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '\u00a9', reg: '\u00ae', trade: '\u2122', hellip: '\u2026', mdash: '\u2014', ndash: '\u2013', rsquo: '\u2019', lsquo: '\u2018', rdquo: '\u201d', ldquo: '\u201c', bull: '\u2022', middot: '\u00b7', euro: '\u20ac', pound: '\u00a3' };

/** Visible text of HTML: no comments, scripts, styles or tags; entities decoded; blocks separated by spaces. */
export function htmlToText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (all, e: string) => {
      if (e[0] === '#') {
        const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? all;
    });
}

/** Decoded text of one leaf part, or '' for a non-text part or an attachment. */
function leafText(m: Message, type: string, params: Map<string, string>): string {
  if (!type.startsWith('text/') || /^\s*attachment/i.test(header(m, 'content-disposition') ?? '')) return '';
  const cte = (header(m, 'content-transfer-encoding') ?? '').trim().toLowerCase();
  let text: string;
  if (cte === 'quoted-printable') text = decodeBytes(decodeQuotedPrintable(m.body), params.get('charset'));
  else if (cte === 'base64') text = decodeBytes(Buffer.from(m.body.replace(/\s+/g, ''), 'base64'), params.get('charset'));
  else text = decodeBytes(bytesOf(m.body), params.get('charset')); // 7bit / 8bit: the raw bytes in the part's charset
  // Much spam sends HTML labelled text/plain (or with no Content-Type): an <html> or <body> tag gives it away.
  return type === 'text/html' || /<(?:html|body)\b/i.test(text) ? htmlToText(text) : text;
}

/** Text of a message or MIME part; multipart/alternative takes its plain-text version when it has one. */
export function bodyText(m: Message, depth = 0): string {
  const { type, params } = contentType(header(m, 'content-type'));
  const boundary = params.get('boundary');
  if (type.startsWith('multipart/') && boundary && depth < 8) {
    const parts = splitParts(m.body, boundary).map((p) => splitMessage(p));
    if (type === 'multipart/alternative') {
      const plain = parts.find((p) => contentType(header(p, 'content-type')).type === 'text/plain');
      const chosen = plain && bodyText(plain, depth + 1).trim() !== '' ? plain : parts[parts.length - 1];
      return chosen ? bodyText(chosen, depth + 1) : '';
    }
    return parts.map((p) => bodyText(p, depth + 1)).join(' ');
  }
  if (type.startsWith('message/') && depth < 8) {
    const inner = splitMessage(m.body);
    return `${decodeHeader(header(inner, 'subject') ?? '')} ${bodyText(inner, depth + 1)}`;
  }
  if (type.startsWith('multipart/')) return m.body; // no boundary: keep what is there
  return leafText(m, type, params);
}

/** Parts between `--boundary` lines, up to `--boundary--`; the preamble and epilogue are dropped. */
function splitParts(body: string, boundary: string): string[] {
  const parts: string[] = [];
  let current: string[] | null = null;
  for (const line of body.replace(/\r\n?/g, '\n').split('\n')) {
    const t = line.trimEnd();
    if (t === `--${boundary}--`) break;
    if (t === `--${boundary}`) {
      if (current) parts.push(current.join('\n'));
      current = [];
    } else current?.push(line);
  }
  if (current) parts.push(current.join('\n'));
  return parts;
}

/**
 * "Subject body" of a raw message (its bytes, or a string of them one char a byte as Buffer's
 * 'latin1' gives; an ordinary string works too when its non-ASCII text is valid UTF-8 or Latin-1): headers stripped, control characters removed, whitespace
 * collapsed to single spaces, cut to the first `maxChars` UTF-16 units (not inside a surrogate pair).
 */
export function messageText(raw: string | Uint8Array, maxChars = 2000): string {
  const m = splitMessage(typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1'));
  const text = `${decodeHeader(header(m, 'subject') ?? '')} ${bodyText(m)}`
    .replace(/[\x00-\x08\x0e-\x1f\x7f-\x9f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length <= maxChars) return text;
  const cut = /[\ud800-\udbff]/.test(text[maxChars - 1]!) ? maxChars - 1 : maxChars;
  return text.slice(0, cut).trimEnd();
}
