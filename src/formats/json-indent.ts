/**
 * Re-indents compact JSON text (one value, as DuckDB's JSON writer or `JSON.stringify(v)` print
 * it) into the layout of `JSON.stringify(v, null, indent)`, without parsing it: strings and
 * numbers are copied as they are, so a DECIMAL(38, s) or a 20-digit integer keeps every digit
 * (a parse into JavaScript numbers would round them). Whitespace outside strings is dropped.
 * `indent` is 1 or more (`JSON.stringify` with 0 prints compact text, which needs no re-indenting).
 */
export function indentJson(compact: string, indent: number): string {
  const out: string[] = [];
  const pad = (depth: number) => `\n${' '.repeat(indent * depth)}`;
  let depth = 0;
  let start = 0; // start of the text not yet copied to out
  for (let i = 0; i < compact.length; i++) {
    const c = compact[i];
    if (c === '"') {
      // Copy the string as it is: up to the closing quote that no backslash escapes.
      let j = i + 1;
      while (j < compact.length && compact[j] !== '"') j += compact[j] === '\\' ? 2 : 1;
      i = j;
      continue;
    }
    if (c !== '{' && c !== '[' && c !== '}' && c !== ']' && c !== ',' && c !== ':' && !isSpace(c)) continue;
    out.push(compact.slice(start, i));
    start = i + 1;
    if (isSpace(c)) continue;
    if (c === '{' || c === '[') {
      const next = nextToken(compact, i + 1);
      if (compact[next] === (c === '{' ? '}' : ']')) {
        out.push(c === '{' ? '{}' : '[]');
        i = next;
        start = next + 1;
      } else {
        depth++;
        out.push(c, pad(depth));
      }
    } else if (c === '}' || c === ']') {
      depth--;
      out.push(pad(depth), c);
    } else if (c === ',') {
      out.push(',', pad(depth));
    } else {
      out.push(': ');
    }
  }
  out.push(compact.slice(start));
  return out.join('');
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

function nextToken(text: string, from: number): number {
  let i = from;
  while (isSpace(text[i])) i++;
  return i;
}
