/** How pages load and refresh what they show. */

import { useEffect, useRef, useState } from "preact/hooks";
import { messageOf } from "./format.js";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/**
 * Loads `load()` now and again every `everyMs` (0: once), while the page is visible; a slow
 * answer is never overtaken by an older one. `key` changes start afresh.
 */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, key: string): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setData(undefined);
    setError(undefined);
    const run = async () => {
      if (!live) return;
      if (document.visibilityState !== "hidden") {
        try {
          const value = await loader.current();
          if (!live) return;
          setData(value);
          setError(undefined);
        } catch (e) {
          if (!live) return;
          setError(messageOf(e));
        }
      }
      if (live && everyMs > 0) timer = setTimeout(run, everyMs);
    };
    void run();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [key, tick, everyMs]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}
