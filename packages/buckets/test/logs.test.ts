import { MAX_LOG_BYTES_PER_ATTEMPT } from "@workflow/work";
import { describe, expect, it } from "vitest";
import { QUIET_REAPER, useTestService } from "./support/service.js";
import { claimedWork } from "./support/works.js";

/** Logs per (work, attempt): appended by the worker that holds the attempt, read by its readers. */

const { t } = useTestService(import.meta.filename, QUIET_REAPER);

interface Stored {
  id: string;
  attempt: number;
  status: string;
}

/** A work of alice's in a pipeline of its own, claimed by worker-1 as attempt 1. */
const running = () => claimedWork(t, "logs");

const line = (text: string, stream = "stdout") => ({ t: Date.now(), stream, text });
const append = (id: string, lines: unknown[], { attempt = 1, token = t.tokens.worker } = {}) =>
  t.call("POST", `/work/${id}/logs?attempt=${attempt}`, { token, body: { lines } });
const report = (id: string, attempt: number, status: string) =>
  t.call("PUT", "/work", { token: t.tokens.worker, body: [{ id, attempt, status }] });

describe("appending", () => {
  it("keeps lines in order with their stream and time; the text answer is the lines", async () => {
    const { id } = await running();
    expect((await append(id, [line("one"), line("two", "stderr")])).status).toBe(200);
    expect((await append(id, [line("three")])).status).toBe(200);
    const text = await t.call("GET", `/work/${id}/logs?attempt=1`, { token: t.tokens.alice });
    expect(text.status).toBe(200);
    expect(text.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(text.body).toBe("one\ntwo\nthree\n");
    const json = await t.call("GET", `/work/${id}/logs?format=json`, { token: t.tokens.alice });
    expect(json.body).toMatchObject({
      id,
      attempt: 1,
      cut: 0,
      lines: [
        { stream: "stdout", text: "one" },
        { stream: "stderr", text: "two" },
        { stream: "stdout", text: "three" },
      ],
    });
    expect((json.body as { lines: { t: number }[] }).lines[0]?.t).toBeGreaterThan(0);
  });

  it("only the worker holding the running attempt may append: another attempt or an ended one is a 409", async () => {
    const { id } = await running();
    expect((await append(id, [line("x")], { attempt: 2 })).status).toBe(409);
    const reader = t.token("carol", ["work:read"]);
    expect((await append(id, [line("x")], { token: reader })).status).toBe(403);
    const elsewhere = t.token("worker-2", ["work:withdraw"], ["other"]);
    expect((await append(id, [line("x")], { token: elsewhere })).status).toBe(404);
    expect((await report(id, 1, "success")).status).toBe(200);
    const late = await append(id, [line("late")]);
    expect(late.status).toBe(409);
    expect(JSON.stringify(late.body)).toContain("no longer running");
    const text = await t.call("GET", `/work/${id}/logs`, { token: t.tokens.alice });
    expect(text.status).toBe(200);
    expect(text.body ?? "").toBe(""); // nothing was appended to attempt 1
  });

  it("refuses malformed batches with a 400 that says what was wrong", async () => {
    const { id } = await running();
    for (const body of [
      {},
      { lines: [] },
      { lines: "text" },
      { lines: [{ t: 1, stream: "stdin", text: "x" }] },
      { lines: [{ t: "now", stream: "stdout", text: "x" }] },
      { lines: [{ t: 1, stream: "stdout", text: "x".repeat(20_000) }] },
      { lines: [line("x")], $where: "sleep(1000)" },
    ]) {
      const answer = await t.call("POST", `/work/${id}/logs?attempt=1`, {
        token: t.tokens.worker,
        body,
      });
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe("$where" in body ? 200 : 400);
    }
    expect(
      (
        await t.call("POST", `/work/${id}/logs`, {
          token: t.tokens.worker,
          body: { lines: [line("x")] },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await t.call("POST", "/work/nope/logs?attempt=1", {
          token: t.tokens.worker,
          body: { lines: [line("x")] },
        })
      ).status,
    ).toBe(400);
    expect((await t.call("GET", `/work/${id}/logs?attempt=abc`)).status).toBe(400);
    expect((await t.call("GET", `/work/${id}/logs?attempt=7`)).status).toBe(400);
  });

  it("keeps the last 10 MB of an attempt, with a marker where it was cut", async () => {
    const { id } = await running();
    const batch = (n: number) =>
      Array.from({ length: 64 }, (_, i) => line(`${n}:${i}:${"x".repeat(16_000)}`));
    for (let n = 0; n < 12; n++) expect((await append(id, batch(n))).status).toBe(200);
    const text = (await t.call("GET", `/work/${id}/logs`, { token: t.tokens.alice }))
      .body as string;
    expect(text).toMatch(/^\[\.\.\. \d+ bytes of earlier output were cut/);
    expect(text.length).toBeLessThanOrEqual(MAX_LOG_BYTES_PER_ATTEMPT + 200);
    expect(text).not.toContain("\n0:0:");
    expect(text).toContain("\n11:63:");
    const json = (await t.call("GET", `/work/${id}/logs?format=json`)).body as { cut: number };
    expect(json.cut).toBeGreaterThan(1_000_000);
  });
});

describe("reading", () => {
  it("owner, admin and readers within their pipelines read; outside them, and for a stranger without work:read, it is a 404", async () => {
    const { id, pipeline } = await running();
    await append(id, [line("secret-ish output")]);
    const read = (token: string) => t.call("GET", `/work/${id}/logs`, { token });
    expect((await read(t.tokens.alice)).status).toBe(200);
    expect((await read(t.tokens.admin)).status).toBe(200);
    expect((await read(t.token("carol", ["work:read"], [pipeline]))).status).toBe(200);
    expect((await read(t.token("carol", ["work:read"]))).status).toBe(200);
    const outside = await read(t.token("carol", ["work:read"], ["other"]));
    expect(outside.status).toBe(404);
    expect(JSON.stringify(outside.body)).not.toContain("secret-ish");
    // The same answer as an unknown id: neither that the work exists nor whose it is.
    const stranger = await read(t.token("dave", ["work:deposit"]));
    expect(stranger.status).toBe(404);
    expect(JSON.stringify(stranger.body)).not.toContain("alice");
    expect((await t.call("GET", `/work/${id}/logs`, { token: "" })).status).toBe(401);
    expect(
      (await t.call("GET", `/work/${id}`, { token: t.token("carol", ["work:read"], ["other"]) }))
        .status,
    ).toBe(404);
  });

  it("GET /work/:id answers the work with its history and its last log lines", async () => {
    const { id } = await running();
    await append(
      id,
      Array.from({ length: 80 }, (_, i) => line(`line ${i}`)),
    );
    await report(id, 1, "success");
    const shown = await t.call("GET", `/work/${id}`, { token: t.tokens.alice });
    expect(shown.status).toBe(200);
    const body = shown.body as Stored & {
      history: { attempt: number; status: string }[];
      logs: { attempt: number; lines: { text: string }[] };
    };
    expect(body).toMatchObject({ id, status: "success", attempt: 1 });
    expect(body.history).toEqual(expect.arrayContaining([expect.objectContaining({ attempt: 1 })]));
    expect(body.logs.attempt).toBe(1);
    expect(body.logs.lines.length).toBe(50);
    expect(body.logs.lines.at(-1)?.text).toBe("line 79");
    expect(body).not.toHaveProperty("_id");
    expect((await t.call("GET", "/work/0123456789abcdef01234567")).status).toBe(404);
  });

  it("follow streams lines as Server-Sent Events, then ends when the attempt ends", async () => {
    const { id } = await running();
    await append(id, [line("before")]);
    const response = await fetch(`${t.url}/work/${id}/logs?follow=true`, {
      headers: { authorization: `Bearer ${t.tokens.alice}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let seen = "";
    const until = async (text: string) => {
      while (!seen.includes(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${text}: ${seen}`);
        seen += decoder.decode(value, { stream: true });
      }
    };
    await until('"text":"before"');
    await append(id, [line("during")]);
    await until('"text":"during"');
    expect(seen).not.toContain("event: end");
    await report(id, 1, "success");
    await until("event: end");
    expect((await reader.read()).done).toBe(true);
    expect(seen.indexOf("before")).toBeLessThan(seen.indexOf("during"));
  });
});
