/** A warm process's output split by work, as the work prints it. */

import { StringDecoder } from "node:string_decoder";

export type OutputStream = "stdout" | "stderr";

/**
 * Receives what a function prints, as it prints it. A promise asks for no more until it settles
 * (the work's logs go out slower than it prints): the stream is paused meanwhile.
 */
export type OutputSink = (stream: OutputStream, text: string) => Promise<void> | undefined | void;

/**
 * Splits one of a warm process's output streams into works. The process writes `\n<marker>\n` on
 * the stream once a work's function has returned; what came before belongs to that work, and the
 * marker itself is dropped. Text that could be the start of a marker is held back until it is not.
 */
export class MarkedStream {
  readonly #stream: OutputStream;
  readonly #decoder = new StringDecoder("utf8");
  #held = "";
  #marker: { text: string; seen: () => void } | undefined;
  #ended = false;
  /** What the sink asked to wait for while the current chunk was emitted. */
  #waits: Promise<void>[] = [];

  constructor(
    stream: OutputStream,
    private readonly sink: () => OutputSink,
  ) {
    this.#stream = stream;
  }

  /** Waits for this marker; `seen` is called once it has passed (or at `end`). */
  expect(marker: string, seen: () => void): void {
    // A stream the function closed carries no marker any more.
    if (this.#ended) {
      seen();
      return;
    }
    this.#marker = { text: `\n${marker}\n`, seen };
    this.#scan();
  }

  /** Takes a chunk; a promise asks for the next one to wait until it settles. */
  push(chunk: Buffer): Promise<void> | undefined {
    this.#held += this.#decoder.write(chunk);
    this.#waits = [];
    this.#scan();
    const waits = this.#waits;
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => {});
  }

  /** The stream closed: nothing more will come, so nothing is held back. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#held += this.#decoder.end();
    this.#emit(this.#held);
    this.#held = "";
    const marker = this.#marker;
    this.#marker = undefined;
    marker?.seen();
  }

  #scan(): void {
    const marker = this.#marker;
    if (!marker) {
      this.#emit(this.#held);
      this.#held = "";
      return;
    }
    const at = this.#held.indexOf(marker.text);
    if (at >= 0) {
      this.#emit(this.#held.slice(0, at));
      this.#held = this.#held.slice(at + marker.text.length);
      this.#marker = undefined;
      marker.seen();
      // What follows the marker is no longer this work's.
      this.#scan();
      return;
    }
    const keep = partialSuffix(this.#held, marker.text);
    this.#emit(this.#held.slice(0, this.#held.length - keep));
    this.#held = this.#held.slice(this.#held.length - keep);
  }

  #emit(text: string): void {
    if (text.length === 0) return;
    const wait = this.sink()(this.#stream, text);
    if (wait) this.#waits.push(wait);
  }
}

/**
 * How many characters at the end of `text` could begin `marker`. A marker holds no newline but
 * its first and last character, so only the text from the last newline on can.
 */
function partialSuffix(text: string, marker: string): number {
  const at = text.lastIndexOf("\n");
  if (at < 0 || text.length - at >= marker.length) return 0;
  return marker.startsWith(text.slice(at)) ? text.length - at : 0;
}
