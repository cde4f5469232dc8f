/** The last bytes of a stream's output, kept for a command's results. */

/** Keeps the last `limit` bytes of a stream's output. */
export class Tail {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #dropped = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size > this.#limit && this.#chunks.length > 0) {
      const first = this.#chunks[0] as Buffer;
      const excess = this.#size - this.#limit;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#size -= first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#size -= excess;
      }
      this.#dropped = true;
    }
  }

  toString(): string {
    const text = Buffer.concat(this.#chunks).toString("utf8");
    return this.#dropped ? `...${text}` : text;
  }
}
