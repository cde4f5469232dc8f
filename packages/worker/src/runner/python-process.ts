/** A warm Python process and its protocol with the worker. */

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { childEnv } from "@workflow/work";
import type { WarmProcess } from "./pool.js";
import { killGroup } from "./process-group.js";
import { MarkedStream, type OutputSink } from "./python-output.js";

/** The Python side of the protocol, shipped in this package. */
export const RUNNER_SCRIPT = fileURLToPath(new URL("../../python/runner.py", import.meta.url));

/** What the Python side answers for one work. */
export type PythonReply =
  | { ok: true; results: Record<string, unknown>; products?: string[]; plots?: string[] }
  | { ok: false; error: string; traceback?: string };

/** How a call ended: with a reply, or with the process gone before it answered. */
export type PythonAnswer =
  | { kind: "reply"; reply: PythonReply }
  | { kind: "ended"; code: number | null; signal: NodeJS.Signals | null; error?: string };

interface Call {
  id: number;
  output: OutputSink | undefined;
  reply?: PythonReply;
  pending: number;
  settle: (answer: PythonAnswer) => void;
}

/** Where a process's prints go when no work asked for them: the worker's own streams. */
const toWorkerStreams: OutputSink = (stream, text) => {
  (stream === "stdout" ? process.stdout : process.stderr).write(text);
};

/**
 * One warm Python process in its own process group. Requests go on fd 3 and replies come on fd 4
 * (one JSON document a line), so what the function prints on stdout and stderr never mixes with
 * them; a marker on each stream ends each work's output. Calls are made one at a time.
 */
export class PythonProcess implements WarmProcess {
  readonly child: ChildProcess;
  /** Works this process has served. */
  served = 0;
  /** Module files under the function roots it imported, with their stamps as it reported them. */
  readonly loaded = new Map<string, string>();
  #nonce = randomUUID();
  #next = 0;
  #call: Call | undefined;
  #ended: { code: number | null; signal: NodeJS.Signals | null; error?: string } | undefined;
  #stdout: MarkedStream;
  #stderr: MarkedStream;

  constructor(python: string, cwd: string) {
    this.child = spawn(python, ["-u", RUNNER_SCRIPT], {
      cwd,
      detached: true,
      env: childEnv(),
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
    });
    const sink = () => this.#call?.output ?? toWorkerStreams;
    this.#stdout = new MarkedStream("stdout", sink);
    this.#stderr = new MarkedStream("stderr", sink);
    const { stdout, stderr } = this.child;
    // A function that prints faster than its logs go out waits, in its pipe, for them.
    const take = (source: Readable, marked: MarkedStream) =>
      source.on("data", (chunk: Buffer) => {
        const wait = marked.push(chunk);
        if (!wait) return;
        source.pause();
        void wait.then(() => source.resume());
      });
    if (stdout) take(stdout, this.#stdout);
    if (stderr) take(stderr, this.#stderr);
    // A function that closes fd 1 or 2 must not leave its work waiting for a marker.
    stdout?.on("end", () => this.#stdout.end());
    stderr?.on("end", () => this.#stderr.end());
    const replies = this.child.stdio[4] as Socket | undefined;
    if (replies) createInterface({ input: replies }).on("line", (line) => this.#onReply(line));
    this.#requests()?.on("error", () => {}); // a broken pipe shows as the process's exit
    this.child.once("error", (error) => this.#end(null, null, error.message));
    this.child.once("exit", (code, signal) => {
      // Let what is still in the pipes arrive before the work's output is closed.
      const closed = new Promise((resolve) => this.child.once("close", resolve));
      const late = new Promise((resolve) => setTimeout(resolve, 1000).unref());
      void Promise.race([closed, late]).then(() => this.#end(code, signal));
    });
    this.idle();
  }

  get alive(): boolean {
    return this.#ended === undefined && this.child.exitCode === null && !this.child.signalCode;
  }

  /** Runs `function(**parameters)`, refused unless defined under `roots`; what it prints goes to `output` (else the worker's streams). */
  call(
    fn: string,
    parameters: Record<string, unknown>,
    roots: readonly string[],
    output?: OutputSink,
  ): Promise<PythonAnswer> {
    if (this.#call) throw new Error("a Python process runs one work at a time");
    const id = ++this.#next;
    this.busy();
    return new Promise((settle) => {
      if (this.#ended) return settle({ kind: "ended", ...this.#ended });
      const marker = `\u001eworkflow:${this.#nonce}:${id}\u001e`;
      const call: Call = { id, output, pending: 3, settle };
      this.#call = call;
      const seen = () => this.#progress(call);
      this.#stdout.expect(marker, seen);
      this.#stderr.expect(marker, seen);
      this.#requests()?.write(
        `${JSON.stringify({ id, function: fn, parameters, roots, marker })}\n`,
      );
    });
  }

  end(): Promise<void> {
    return killGroup(this.child, 1);
  }

  /** An idle process must not keep the worker alive. */
  idle(): void {
    this.child.unref();
    for (const stream of this.child.stdio) (stream as Socket | null)?.unref?.();
  }

  busy(): void {
    this.child.ref();
    for (const stream of this.child.stdio) (stream as Socket | null)?.ref?.();
  }

  #requests(): Socket | undefined {
    return this.child.stdio[3] as Socket | undefined;
  }

  #onReply(line: string): void {
    const call = this.#call;
    let parsed: { id?: unknown } & Record<string, unknown>;
    try {
      parsed = JSON.parse(line);
    } catch {
      return; // not ours: the protocol never sends anything but JSON lines
    }
    if (!call || parsed.id !== call.id) return;
    const { id: _id, loaded, ...reply } = parsed;
    if (Array.isArray(loaded))
      for (const entry of loaded)
        if (Array.isArray(entry) && typeof entry[0] === "string")
          this.loaded.set(entry[0], String(entry[1]));
    call.reply = reply as PythonReply;
    this.#progress(call);
  }

  /** A call is answered once its reply and both streams' markers have come. */
  #progress(call: Call): void {
    call.pending--;
    if (call.pending > 0 || this.#call !== call || !call.reply) return;
    this.#call = undefined;
    this.served++;
    call.settle({ kind: "reply", reply: call.reply });
  }

  #end(code: number | null, signal: NodeJS.Signals | null, error?: string): void {
    if (this.#ended) return;
    this.#ended = { code, signal, ...(error ? { error } : {}) };
    const call = this.#call;
    this.#stdout.end();
    this.#stderr.end();
    if (call && this.#call === call) {
      this.#call = undefined;
      call.settle({ kind: "ended", ...this.#ended });
    }
  }
}
