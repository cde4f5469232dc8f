/** A hook on the service's MongoDB commands that acts as a claim is being written. */

import type { CommandStartedEvent } from "mongodb";

export interface ClaimWrites {
  /** For the service's `onCommand` hook. */
  onCommand(event: CommandStartedEvent): void;
  /** Calls `act` once, as the next claim's write for a work of `pipeline` is sent to MongoDB. */
  arm(pipeline: string, act: () => void): void;
}

/**
 * Lets a test do something (hang up, stop a worker) between the service's claim and its answer,
 * every time rather than when a race happens to fall that way.
 */
export function claimWrites(): ClaimWrites {
  let armed: { pipeline: string; act: () => void } | undefined;
  return {
    onCommand({ commandName, command }) {
      if (!armed || !["update", "findAndModify"].includes(commandName)) return;
      if (command[commandName] !== "works") return;
      if (!JSON.stringify(command).includes(armed.pipeline)) return;
      const { act } = armed;
      armed = undefined;
      act();
    },
    arm(pipeline, act) {
      armed = { pipeline, act };
    },
  };
}
