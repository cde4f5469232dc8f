/** The watchdog: ends the worker's process groups if the worker dies without a word. */

import { type ChildProcess, spawn } from "node:child_process";
import { KILL_GRACE_SECONDS } from "./process-group.js";

/**
 * Reads "+PGID" (a command started) and "-PGID" (it ended) from a pipe that only the worker writes
 * to, keeping the list in shell variables (no process per line). End of file means the worker died
 * (kill -9, OOM) without a word: then every group still listed gets SIGTERM, and SIGKILL after the
 * grace period, so that a work the service re-runs elsewhere is not also running here.
 */
const SCRIPT = `groups=" "
while IFS= read -r line; do
  g=\${line#?}
  case $line in
    +*) groups="$groups$g " ;;
    -*) case $groups in *" $g "*) groups="\${groups%% $g *} \${groups#* $g }" ;; esac ;;
  esac
done
left=""
for g in $groups; do kill -TERM "-$g" 2>/dev/null && left="$left $g"; done
i=0
while [ -n "$left" ] && [ "$i" -lt "$1" ]; do
  sleep 1
  alive=""
  for g in $left; do kill -0 "-$g" 2>/dev/null && alive="$alive $g"; done
  left=$alive
  i=$((i + 1))
done
for g in $left; do kill -KILL "-$g" 2>/dev/null; done
exit 0`;

export interface Watchdog {
  /** The group ended while the worker watched it: the watchdog forgets it. */
  release(): void;
}

/** The worker's one watchdog, started with its first command; and the groups it watches. */
let dog: ChildProcess | undefined;
const watched = new Set<number>();

/**
 * One small shell (in a process group of its own) per worker process, holding the read end of a
 * pipe: the kernel closes the pipe when the worker dies, however it dies, and no signal or timer
 * in the worker is needed. One process for all commands, so a command costs no extra spawn.
 *
 * Called before a command is spawned: the watchdog's own fork and exec then lie outside the gap
 * between the command starting and `watchGroup` telling of it, which is left a pipe write wide.
 * (A worker killed inside that gap used to leave the command running.)
 */
export function startWatchdog(): ChildProcess | undefined {
  if (dog && dog.exitCode === null && dog.signalCode === null && dog.stdin?.writable) return dog;
  try {
    const started = spawn("/bin/sh", ["-c", SCRIPT, "watchdog", String(KILL_GRACE_SECONDS)], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
    });
    started.on("error", () => {});
    started.stdin?.on("error", () => {});
    started.unref();
    // The pipe must not keep the worker's event loop alive.
    (started.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    dog = started;
    // A watchdog that died (killed by hand) is replaced, and told what the old one watched.
    if (watched.size > 0) started.stdin?.write([...watched].map((g) => `+${g}\n`).join(""));
    return started;
  } catch {
    // Without a watchdog the commands still run; only a killed worker's cleanup is lost.
    dog = undefined;
    return undefined;
  }
}

/** Watches the process group `pgid` until `release`: if the worker dies first, the group ends. */
export function watchGroup(pgid: number): Watchdog {
  // Started (or replaced) first: a new watchdog is told of the groups already watched, then this.
  const current = startWatchdog();
  watched.add(pgid);
  current?.stdin?.write(`+${pgid}\n`);
  return {
    release() {
      if (!watched.delete(pgid)) return;
      dog?.stdin?.write(`-${pgid}\n`);
    },
  };
}
