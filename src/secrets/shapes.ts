/**
 * Secrets recognised by their shape, whatever name they travel under (or none: an error message,
 * a URL, a log line): `Bearer …`/`Basic …` credentials, JWTs, AWS access key ids and the secret
 * beside them, PEM private keys and age identities. Each is replaced by the mask; the text around
 * it stays readable.
 */

// `Bearer …` / `Basic …` / `Token …` credentials written into free text.
const AUTH_SCHEME = /\b(Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=-]{8,}/g;
// header.payload.signature, each base64url; both JSON parts start `{"` = `eyJ`.
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
// AWS access key ids: long-term (AKIA) and temporary (ASIA).
const AWS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;
// A secret access key: 40 characters of base64 with upper, lower case and a digit, on its own.
// Masked only in a string that also holds a key id (alone, it looks like any other base64).
const AWS_SECRET =
  /(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+=]*[A-Z])(?=[A-Za-z0-9/+=]*[a-z])(?=[A-Za-z0-9/+=]*[0-9])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/g;
// PEM private keys (RSA, EC, OPENSSH, ENCRYPTED, PKCS#8), to their END line or the text's end.
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
// age identities (X25519 and plugin ones) in their Bech32 form.
const AGE_IDENTITY = /\bAGE-(?:PLUGIN-[A-Z0-9]+-)?SECRET-KEY-1[02-9AC-HJ-NP-Z]+/gi;

const HINTS = /Bearer|Basic|Token|Digest|eyJ|AKIA|ASIA|PRIVATE KEY|SECRET-KEY-1/i;

/** False only when `maskSecretShapes` would return `text` unchanged. */
export function mayHoldSecretShapes(text: string): boolean {
  return HINTS.test(text);
}

/** Replaces every secret recognised by its shape with `mask`. */
export function maskSecretShapes(text: string, mask: string): string {
  if (!HINTS.test(text)) return text;
  let out = text
    .replace(PEM_PRIVATE_KEY, (_all, kind: string) => `-----BEGIN ${kind}PRIVATE KEY----- ${mask}`)
    .replace(AGE_IDENTITY, mask)
    .replace(JWT, mask)
    .replace(AUTH_SCHEME, (_all, scheme: string) => `${scheme} ${mask}`);
  if (AWS_KEY_ID.test(out)) {
    AWS_KEY_ID.lastIndex = 0;
    out = out.replace(AWS_SECRET, mask).replace(AWS_KEY_ID, mask);
  }
  AWS_KEY_ID.lastIndex = 0;
  return out;
}
