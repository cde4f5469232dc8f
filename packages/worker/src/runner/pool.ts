/**
 * The worker's warm processes (Node and Python alike) waiting for their next work: one pool a
 * worker, with one cap over both kinds. A work can leave state behind in its process (globals,
 * patched modules), so a process only ever serves works of the same key (runner, directory,
 * user); and one that loaded a module file since changed is replaced, never reused.
 */
import { statSync } from "node:fs";

/** Where the pool says why it replaced a process (the worker's log). */
export interface PoolLog {
  info(fields: Record<string, unknown>, message: string): void;
}

/** Idle warm processes kept at most, over all kinds and users; the least recently used go first. */
export const MAX_WARM_PROCESSES = 16;

/** A process the pool can keep warm. */
export interface WarmProcess {
  readonly alive: boolean;
  /** Source files it has loaded, with what they were when it loaded them: edited ones make it stale. */
  readonly loaded: ReadonlyMap<string, string>;
  /** Lets the worker exit while it waits. */
  idle(): void;
  /** Ends it and all it started; resolves once they are gone. */
  end(): Promise<void>;
}

/** What a file is now, to compare with what it was when a process loaded it: "" if it is gone. */
export function fileStamp(path: string): string {
  try {
    const stat = statSync(path, { bigint: true });
    return `${stat.mtimeNs}:${stat.size}`;
  } catch {
    return "";
  }
}

/** The first file a process loaded that has changed since, if any. */
export function changedFile(proc: WarmProcess): string | undefined {
  for (const [file, stamp] of proc.loaded) if (fileStamp(file) !== stamp) return file;
  return undefined;
}

export class WarmPool {
  /** Idle processes by key; the map's order is the order of use, least recent first. */
  readonly #idle = new Map<string, WarmProcess[]>();
  #count = 0;
  readonly #ending = new Set<Promise<void>>();

  constructor(
    private readonly logger?: PoolLog,
    private readonly max = MAX_WARM_PROCESSES,
  ) {}

  /** Idle processes held now. */
  get size(): number {
    return this.#count;
  }

  /** A warm process for `key` that is alive and current, else a new one from `start`. */
  take<P extends WarmProcess>(key: string, start: () => P): P {
    const list = this.#idle.get(key) ?? [];
    while (list.length > 0) {
      const warm = list.pop() as P;
      this.#count--;
      if (!warm.alive) continue;
      const changed = changedFile(warm);
      if (changed === undefined) return warm;
      this.logger?.info(
        { file: changed },
        "a module file changed since this warm process loaded it; starting a fresh process",
      );
      this.#end(warm);
    }
    if (list.length === 0) this.#idle.delete(key);
    return start();
  }

  /** Keeps a process whose work ended normally for the next work of the same key. */
  giveBack(key: string, proc: WarmProcess): void {
    proc.idle();
    const list = this.#idle.get(key) ?? [];
    this.#idle.delete(key);
    this.#idle.set(key, [...list, proc]);
    this.#count++;
    while (this.#count > this.max) {
      const [oldestKey, oldest] = this.#idle.entries().next().value as [string, WarmProcess[]];
      const evicted = oldest.shift();
      if (oldest.length === 0) this.#idle.delete(oldestKey);
      this.#count--;
      if (evicted) this.#end(evicted);
    }
  }

  /** Ends every idle process (when the worker stops). */
  async close(): Promise<void> {
    const all = [...this.#idle.values()].flat();
    this.#idle.clear();
    this.#count = 0;
    for (const proc of all) this.#end(proc);
    await Promise.all(this.#ending);
  }

  #end(proc: WarmProcess): void {
    const ending = proc.end().catch(() => {});
    this.#ending.add(ending);
    void ending.finally(() => this.#ending.delete(ending));
  }
}
