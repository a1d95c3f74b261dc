// The one canonical JSON of the project: run ids, cache checksums, lock hashes and teacher keys are
// sha256 of this text, so it must depend on content only. RFC 8785 (JSON Canonicalization Scheme)
// through `canonicalize`: keys sorted by UTF-16 code units at every level, numbers in ECMAScript's
// shortest round-trip form (-0 as 0), strings as JSON.stringify writes them. For the values sublab
// hashes this is byte for byte what the four hand-written versions it replaced produced.
//
// The rule for what JSON cannot say: a property whose value is `undefined` is left out (as
// JSON.stringify does, so an absent optional field and an undefined one hash the same); NaN,
// ±Infinity and lone surrogates are refused with an error naming where they are, never written
// as null or as a string (two different values must not share a hash). Data that may hold them
// (result rows) is hashed in the form JSON stores it: see `asStoredJson`.
import canonicalize from 'canonicalize';

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

export function canonicalJson(v: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(v);
  } catch (e) {
    throw new CanonicalJsonError(`cannot write canonical JSON: ${(e as Error).message}${where(v)}`);
  }
  if (text === undefined) throw new CanonicalJsonError('cannot write canonical JSON of a value JSON has no form for (undefined, a function)');
  return text;
}

/** The value as JSON.parse(JSON.stringify(v)) gives it back: NaN and ±Infinity as null. */
export function asStoredJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

// With the u flag a surrogate pair is one code point, so only a lone half matches.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** ` at params.x`: the first place holding a value canonicalJson refuses (only on failure). */
function where(root: unknown): string {
  const bad = (x: unknown): boolean => (typeof x === 'number' && !Number.isFinite(x)) || (typeof x === 'string' && LONE_SURROGATE.test(x));
  const walk = (x: unknown, at: string): string | undefined => {
    if (bad(x)) return at;
    if (x === null || typeof x !== 'object') return undefined;
    for (const [k, c] of Object.entries(x)) {
      if (bad(k)) return `${at}[key ${JSON.stringify(k)}]`;
      const found = walk(c, Array.isArray(x) ? `${at}[${k}]` : at ? `${at}.${k}` : k);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const at = walk(root, '');
  return at ? ` (at ${at})` : '';
}
