/**
 * An object that stands for one a test file's hooks make later (its service, its page): each use
 * forwards to what `get` answers then, so the file can name it at its top. Writes go through too
 * (a test setting a proxy's `cut`).
 */
export function standIn<T extends object>(get: () => T | undefined, what: string): T {
  const real = (): T => {
    const made = get();
    if (made === undefined) throw new Error(`${what} is used before the hook that makes it`);
    return made;
  };
  return new Proxy({} as T, {
    get(_, key) {
      const made = real();
      const value: unknown = Reflect.get(made, key, made);
      return typeof value === "function" ? value.bind(made) : value;
    },
    set(_, key, value) {
      const made = real();
      return Reflect.set(made, key, value, made);
    },
  });
}
