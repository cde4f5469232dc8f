/**
 * An object that stands for one a test file's hooks make later (its service, its page): each use
 * forwards to what `get` answers then, so the file can name it at its top.
 */
export function standIn<T extends object>(get: () => T | undefined, what: string): T {
  return new Proxy({} as T, {
    get(_, key) {
      const real = get();
      if (real === undefined) throw new Error(`${what} is used before the hook that makes it`);
      const value: unknown = Reflect.get(real, key, real);
      return typeof value === "function" ? value.bind(real) : value;
    },
  });
}
