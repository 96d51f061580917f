/**
 * The zone-file (RFC 1035 5.1) lexer: text in, logical entries out. An entry is one line, or
 * several joined by parentheses; its tokens are bare words (escapes kept, for the record codecs to
 * decode) and "quoted strings" (without the quotes, escapes kept). Comments (";" to the end of the
 * line, outside quotes) are dropped. A bare word may carry a quoted value right after "="
 * (`alpn="h2,h3"`, RFC 9460 A.1): the quoted part, spaces included, stays in the word.
 * Lexical errors are attached to their entry, so the reader reports them in file order.
 */

/** One token; `raw` keeps escapes undecoded and has no surrounding quotes. */
export interface Token {
  raw: string;
  quoted: boolean;
}

/** A logical line: the tokens of one entry, possibly spanning physical lines within parentheses. */
export interface Entry {
  /** 1-based physical line where the entry starts. */
  line: number;
  /** The line starts with white space: the entry has no owner (it repeats the previous one). */
  indented: boolean;
  tokens: Token[];
  /** Lexical errors of this entry, if any (the reader reports them and skips the entry). */
  errors?: { line: number; message: string }[];
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d;
}

/** Index of the closing quote of the quoted string opening at `open`, or -1 when the line ends first. */
function closingQuote(text: string, open: number): number {
  const n = text.length;
  let j = open + 1;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === 0x22) return j;
    if (c === 0x0a) return -1;
    j += c === 0x5c && j + 1 < n && text.charCodeAt(j + 1) !== 0x0a ? 2 : 1;
  }
  return -1;
}

/** Split zone-file text into entries (a leading byte-order mark is ignored; CRLF is fine). */
export function lex(text: string): Entry[] {
  return [...lexEntries(text)];
}

/**
 * {@link lex}, one entry at a time: the reader takes each entry as it is made, so a million-record
 * file's entries (an object, a token array and a token per field: ~10 objects a record) die young
 * instead of all living until the whole file is split (the scavenger copied each of them twice).
 */
export function* lexEntries(text: string): Generator<Entry, void, undefined> {
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let depth = 0;
  let entry: Entry | null = null;
  while (i <= n) {
    // Start of a physical line outside parentheses: a new entry.
    if (depth === 0) {
      if (entry && (entry.tokens.length > 0 || entry.errors)) yield entry;
      entry = { line, indented: i < n && isSpace(text.charCodeAt(i)), tokens: [] };
    }
    const cur = entry as Entry;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) break;
      if (isSpace(c)) {
        i++;
      } else if (c === 0x3b) {
        while (i < n && text.charCodeAt(i) !== 0x0a) i++;
      } else if (c === 0x28) {
        depth++;
        i++;
      } else if (c === 0x29) {
        if (depth === 0) fail(cur, line, 'unbalanced ")"');
        else depth--;
        i++;
      } else if (c === 0x22) {
        const j = closingQuote(text, i);
        if (j < 0) {
          fail(cur, line, 'unterminated quoted string');
          while (i < n && text.charCodeAt(i) !== 0x0a) i++;
        } else {
          cur.tokens.push({ raw: text.slice(i + 1, j), quoted: true });
          i = j + 1;
        }
      } else {
        let j = i;
        let bad = false;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === 0x0a || isSpace(d) || d === 0x3b || d === 0x28 || d === 0x29) break;
          if (d === 0x22) {
            // key="quoted value" (SVCB/HTTPS parameters): the quoted part belongs to the word.
            const k = j > i && text.charCodeAt(j - 1) === 0x3d ? closingQuote(text, j) : -1;
            if (k >= 0) {
              j = k + 1;
              continue;
            }
            fail(
              cur,
              line,
              j > i && text.charCodeAt(j - 1) === 0x3d
                ? `unterminated quoted value in "${text.slice(i, j + 1)}"`
                : `unexpected quote inside "${text.slice(i, j + 1)}" (escape it as \\")`,
            );
            bad = true;
            break;
          }
          if (d === 0x5c) {
            if (j + 1 >= n || text.charCodeAt(j + 1) === 0x0a) {
              fail(cur, line, 'backslash at end of line');
              bad = true;
              j++;
              break;
            }
            j += 2;
          } else {
            j++;
          }
        }
        if (bad) {
          while (j < n && text.charCodeAt(j) !== 0x0a) j++;
        } else {
          cur.tokens.push({ raw: text.slice(i, j), quoted: false });
        }
        i = j;
      }
    }
    if (i >= n) break;
    i++; // the newline
    line++;
  }
  if (entry && depth > 0) fail(entry, entry.line, 'parenthesis "(" is never closed');
  if (entry && (entry.tokens.length > 0 || entry.errors)) yield entry;
}

function fail(entry: Entry, line: number, message: string): void {
  (entry.errors ??= []).push({ line, message });
}

/** A token as it was written (quoted strings get their quotes back). */
export function showToken(t: Token): string {
  return t.quoted ? `"${t.raw}"` : t.raw;
}

/** Tokens joined back into presentation text, for the record codecs to read. */
export function tokensText(tokens: readonly Token[]): string {
  return tokens.map(showToken).join(' ');
}
