// Records keyed by user-chosen names (parameters, metrics, key columns). A plain `{}` inherits
// Object.prototype: `"constructor" in {}` is true and `o["__proto__"] = 2` sets nothing, so a
// parameter with such a name would vanish. These records have no prototype, and `has` asks about
// own properties only.

/** An empty record with no prototype: every name, `__proto__` included, is an ordinary key. */
export function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Whether `name` is a key of `o` itself (never something inherited from Object.prototype). */
export function has(o: object, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, name);
}
