import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { groupAlive } from "../src/runner/process-group.js";
import { Stopper } from "../src/runner/stopper.js";

/** A work's timeout and stop, on a real process group (a shell and the sleep it started). */

const group = () => {
  const child = spawn("/bin/sh", ["-c", "sleep 30 & wait"], { detached: true, stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, exited };
};

describe("Stopper", () => {
  it("times a work out: its whole group is killed and the outcome says after how long", async () => {
    const { child, exited } = group();
    const stopper = new Stopper(child, 0.2);
    await exited;
    await stopper.killing;
    expect(groupAlive(child.pid as number)).toBe(false);
    expect(stopper.outcome()).toEqual({
      status: "failure",
      results: { error: "timed out after 0.2 s" },
    });
  });

  it("tells the first reason it was stopped for, and results given beside it", async () => {
    const { child, exited } = group();
    const stopper = new Stopper(child, 60);
    stopper.stop("cancel");
    stopper.stop("shutdown");
    await exited;
    await stopper.killing;
    stopper.finish();
    expect(stopper.outcome({ exitCode: null })).toEqual({
      status: "cancelled",
      results: { exitCode: null, error: "cancelled" },
    });
  });

  it("leaves a finished work's process alone: it may serve another work", async () => {
    const { child, exited } = group();
    const stopper = new Stopper(child, 60);
    stopper.finish();
    stopper.stop("cancel");
    expect(stopper.killing).toBeUndefined();
    expect(stopper.outcome()).toBeUndefined();
    expect(groupAlive(child.pid as number)).toBe(true);
    process.kill(-(child.pid as number), "SIGKILL");
    await exited;
  });
});
