import { spawn } from "node:child_process";
import { KILL_GRACE_SECONDS } from "./process-group.js";

/**
 * Waits on a pipe from the worker. "done" means the group ended normally; end of file means the
 * worker died (kill -9, OOM) without a word: then the group gets SIGTERM, and SIGKILL after the
 * grace period, so that a work the service re-runs elsewhere is not also running here.
 */
const SCRIPT = `IFS= read -r line
[ "$line" = done ] && exit 0
kill -TERM "-$1" 2>/dev/null || exit 0
i=0
while [ "$i" -lt "$2" ]; do
  sleep 1
  kill -0 "-$1" 2>/dev/null || exit 0
  i=$((i + 1))
done
kill -KILL "-$1" 2>/dev/null
exit 0`;

export interface Watchdog {
  /** The group ended while the worker watched it: the watchdog leaves without killing anything. */
  release(): void;
}

/**
 * Starts a watchdog for the process group `pgid`: a small shell of its own group, holding the read
 * end of a pipe that only this worker writes to. The kernel closes the pipe when the worker dies,
 * however it dies; no signal or timer in the worker is needed.
 */
export function watchGroup(pgid: number): Watchdog {
  let dog: ReturnType<typeof spawn> | undefined;
  try {
    dog = spawn("/bin/sh", ["-c", SCRIPT, "watchdog", String(pgid), String(KILL_GRACE_SECONDS)], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
    });
    dog.on("error", () => {});
    dog.stdin?.on("error", () => {});
    dog.unref();
    // The pipe must not keep the worker's event loop alive.
    (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  } catch {
    // Without a watchdog the command still runs; only a killed worker's cleanup is lost.
    dog = undefined;
  }
  return {
    release() {
      dog?.stdin?.end("done\n");
      dog = undefined;
    },
  };
}
