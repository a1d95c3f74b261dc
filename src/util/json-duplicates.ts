// JSON.parse keeps the last of two equal keys ({"y": 0.1, "y": 0.9} is {"y": 0.9}), silently. A
// result row with a key twice is ambiguous, so rows are checked here for duplicate keys of their
// top-level object (nested values are refused elsewhere).

/** The first key that appears twice in the top-level object of `text` (valid JSON), if any. */
export function duplicateTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      // Read the whole string token, escapes included.
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        // Compare decoded names: "y" and "\u0079" are the same key.
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = depth === 1 && c === '{';
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return undefined;
}
