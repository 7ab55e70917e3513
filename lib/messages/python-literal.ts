/**
 * A strict parser for the subset of Python literals that the replaced load balancers send
 * (`str(dict)` output): dicts, lists, tuples, strings with optional u/b/r prefixes, integers,
 * floats, True/False/None. Nothing is evaluated; anything else is a syntax error.
 */
export class PythonLiteralError extends Error {
  override name = 'PythonLiteralError';
}

const MAX_DEPTH = 32;

export function parsePythonLiteral(text: string): unknown {
  const parser = new Parser(text);
  const value = parser.value(0);
  parser.skipSpace();
  if (!parser.done()) throw parser.error('unexpected trailing characters');
  return value;
}

class Parser {
  private position = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.position >= this.text.length;
  }

  error(message: string): PythonLiteralError {
    return new PythonLiteralError(`${message} at offset ${this.position}`);
  }

  skipSpace(): void {
    while (!this.done() && /\s/.test(this.text[this.position]!)) this.position++;
  }

  private peek(): string {
    return this.text[this.position] ?? '';
  }

  private expect(char: string): void {
    if (this.peek() !== char) throw this.error(`expected '${char}'`);
    this.position++;
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw this.error('nesting too deep');
    this.skipSpace();
    const char = this.peek();
    if (char === '{') return this.dict(depth);
    if (char === '[') return this.sequence(depth, '[', ']');
    if (char === '(') return this.sequence(depth, '(', ')');
    if (char === "'" || char === '"') return this.string(false);
    const prefix = /^[uUbBrR]{1,2}(?=['"])/.exec(this.text.slice(this.position, this.position + 3));
    if (prefix) {
      this.position += prefix[0].length;
      return this.string(/r/i.test(prefix[0]));
    }
    for (const [word, result] of [['True', true], ['False', false], ['None', null]] as const) {
      if (this.text.startsWith(word, this.position) && !/\w/.test(this.text[this.position + word.length] ?? '')) {
        this.position += word.length;
        return result;
      }
    }
    const number = /^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)/.exec(this.text.slice(this.position));
    if (number) {
      this.position += number[0].length;
      return Number(number[0]);
    }
    throw this.error(this.done() ? 'unexpected end of input' : `unexpected character '${char}'`);
  }

  private dict(depth: number): Record<string, unknown> {
    this.expect('{');
    const result: Record<string, unknown> = Object.create(null);
    this.skipSpace();
    while (this.peek() !== '}') {
      const key = this.value(depth + 1);
      if (typeof key !== 'string' && typeof key !== 'number') throw this.error('dict keys must be strings or numbers');
      this.skipSpace();
      this.expect(':');
      result[String(key)] = this.value(depth + 1);
      this.skipSpace();
      if (this.peek() === ',') {
        this.position++;
        this.skipSpace();
      } else if (this.peek() !== '}') {
        throw this.error("expected ',' or '}'");
      }
    }
    this.position++;
    return { ...result };
  }

  private sequence(depth: number, open: string, close: string): unknown[] {
    this.expect(open);
    const result: unknown[] = [];
    this.skipSpace();
    while (this.peek() !== close) {
      result.push(this.value(depth + 1));
      this.skipSpace();
      if (this.peek() === ',') {
        this.position++;
        this.skipSpace();
      } else if (this.peek() !== close) {
        throw this.error(`expected ',' or '${close}'`);
      }
    }
    this.position++;
    return result;
  }

  private string(raw: boolean): string {
    const quote = this.peek();
    this.position++;
    let result = '';
    for (;;) {
      if (this.done()) throw this.error('unterminated string');
      const char = this.text[this.position++]!;
      if (char === quote) return result;
      if (char === '\n') throw this.error('newline in string');
      if (char !== '\\') {
        result += char;
        continue;
      }
      const escaped = this.text[this.position++];
      if (escaped === undefined) throw this.error('unterminated string');
      if (raw) {
        result += '\\' + escaped;
        continue;
      }
      result += this.escape(escaped);
    }
  }

  private escape(escaped: string): string {
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
    if (escaped in simple) return simple[escaped]!;
    const width = escaped === 'x' ? 2 : escaped === 'u' ? 4 : escaped === 'U' ? 8 : 0;
    if (width === 0) return '\\' + escaped;
    const hex = this.text.slice(this.position, this.position + width);
    if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) throw this.error('bad escape');
    this.position += width;
    const codePoint = parseInt(hex, 16);
    if (codePoint > 0x10ffff) throw this.error('bad escape');
    return String.fromCodePoint(codePoint);
  }
}
