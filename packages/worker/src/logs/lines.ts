/** A stream's output cut into stamped lines. */

import { StringDecoder } from "node:string_decoder";
import { type LogLine, type LogStream, MAX_LOG_LINE_CHARS } from "@workflow/work";

/**
 * Cuts one stream's output into lines, each stamped with the time its end arrived. A line longer
 * than the service keeps whole arrives as several; a last line without its newline comes at `end`.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder("utf8");
  #held = "";

  constructor(
    private readonly stream: LogStream,
    private readonly emit: (line: LogLine) => void,
  ) {}

  push(chunk: string | Buffer): void {
    const text = this.#held + (typeof chunk === "string" ? chunk : this.#decoder.write(chunk));
    const parts = text.split("\n");
    this.#held = parts.pop() ?? "";
    // One clock reading a chunk: a chunk of one-letter lines holds tens of thousands.
    const t = Date.now();
    for (const part of parts) this.#line(part, t);
    while (this.#held.length > MAX_LOG_LINE_CHARS) {
      this.#line(this.#held.slice(0, MAX_LOG_LINE_CHARS), t);
      this.#held = this.#held.slice(MAX_LOG_LINE_CHARS);
    }
  }

  end(): void {
    const rest = this.#held + this.#decoder.end();
    this.#held = "";
    if (rest !== "") this.push(`${rest}\n`);
  }

  #line(text: string, t: number): void {
    const clean = text.endsWith("\r") ? text.slice(0, -1) : text;
    for (let at = 0; at === 0 || at < clean.length; at += MAX_LOG_LINE_CHARS)
      this.emit({ t, stream: this.stream, text: clean.slice(at, at + MAX_LOG_LINE_CHARS) });
  }
}
