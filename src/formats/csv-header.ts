/** Header rules and message pieces of the strict CSV tokenizer. */

export function describeByte(c: number): string {
  return c >= 0x20 && c < 0x7f ? JSON.stringify(String.fromCharCode(c)) : `byte 0x${c.toString(16)}`;
}

/** Why a header cannot name columns (an empty or repeated name), or undefined when it can. */
export function headerProblem(
  names: readonly string[],
  foldCase: boolean,
): { message: string; field: number } | undefined {
  const seen = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (name === '') {
      return {
        message: `header column ${i + 1} has no name: every column needs a unique name`,
        field: i + 1,
      };
    }
    const folded = foldCase ? name.toLowerCase() : name;
    const first = seen.get(folded);
    if (first !== undefined) {
      return {
        message: `header names ${JSON.stringify(names[first])} (column ${first + 1}) and ${JSON.stringify(name)} (column ${i + 1}) clash: column names must be unique${foldCase ? ', ignoring case (DuckDB and Parquet fold case)' : ''}`,
        field: i + 1,
      };
    }
    seen.set(folded, i);
  }
  return undefined;
}
