/**
 * A path or name as one shell word, for commands sluice prints for users to paste: as it is when
 * it has no character a POSIX shell treats specially, else in single quotes.
 */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
