/** Archiving to a filesystem. */

import { cp, mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Placement } from "./placement.js";

/** Puts files under a directory of the archive's filesystem; a move across filesystems copies. */
export function posixPlacement(dir: string): Placement {
  let made: Promise<unknown> | undefined;
  return {
    async put(source, name, remove) {
      made ??= mkdir(dir, { recursive: true });
      await made;
      const target = join(dir, name);
      if (remove) {
        try {
          await rename(source, target);
          return target;
        } catch (error) {
          // Another filesystem, or a directory already there (a retried work): copy over it.
          const code = (error as NodeJS.ErrnoException).code ?? "";
          if (!["EXDEV", "ENOTEMPTY", "EEXIST", "EISDIR", "ENOTDIR"].includes(code)) throw error;
        }
      }
      await cp(source, target, { recursive: true, force: true, preserveTimestamps: true });
      if (remove) await rm(source, { recursive: true, force: true });
      return target;
    },
  };
}
