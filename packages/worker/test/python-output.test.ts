import { describe, expect, it } from "vitest";
import { MarkedStream } from "../src/runner/python-output.js";

/** What a Python function prints is told apart from the end-of-work marker however the pipe cuts it. */

const MARKER = "\u001eworkflow:nonce:7\u001e";

function feed(chunks: Buffer[]) {
  const printed: string[] = [];
  let seen = 0;
  const stream = new MarkedStream("stdout", () => (_stream, text) => {
    printed.push(text);
  });
  stream.expect(MARKER, () => seen++);
  for (const chunk of chunks) stream.push(chunk);
  return { printed: () => printed.join(""), seen: () => seen, stream };
}

describe("MarkedStream", () => {
  const text = "line one\nΔt = 5 µs 🚀\n\u001eworkflow:other:1\u001e\nno newline";
  const whole = Buffer.from(`${text}\n${MARKER}\nafter`);

  it("finds the marker wherever the bytes are cut, even inside a UTF-8 character", () => {
    for (let cut = 0; cut <= whole.length; cut++) {
      const { printed, seen } = feed([whole.subarray(0, cut), whole.subarray(cut)]);
      expect(seen()).toBe(1);
      expect(printed()).toBe(`${text}after`);
    }
  });

  it("byte by byte too", () => {
    const { printed, seen } = feed([...whole].map((byte) => Buffer.from([byte])));
    expect(seen()).toBe(1);
    expect(printed()).toBe(`${text}after`);
  });

  it("a stream that ends without the marker lets the work go, and later works at once", () => {
    const { printed, seen, stream } = feed([Buffer.from("partial\n\u001eworkflow:no")]);
    expect(seen()).toBe(0);
    stream.end();
    expect(seen()).toBe(1);
    expect(printed()).toBe("partial\n\u001eworkflow:no");
    let later = 0;
    stream.expect("\u001eworkflow:nonce:8\u001e", () => later++);
    expect(later).toBe(1);
  });
});
