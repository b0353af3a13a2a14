/**
 * A function of a text, worked out once per text and thread: what a registry's SQL texts say (a
 * step's statements, a table's definition) is asked again for every file and every version.
 * Bounded: past `limit` texts everything is forgotten at once, for a host that loads registry
 * after registry. The results are shared by every caller: they must not be changed.
 */
export function perText<T>(compute: (text: string) => T, limit = 256): (text: string) => T {
  const known = new Map<string, T>();
  return (text) => {
    // One lookup on a hit; `has` only for an answer that is itself undefined.
    const hit = known.get(text);
    if (hit !== undefined || known.has(text)) return hit as T;
    const value = compute(text);
    if (known.size >= limit) known.clear();
    known.set(text, value);
    return value;
  };
}
