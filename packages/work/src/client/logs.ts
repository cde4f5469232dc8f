/** The client's calls on an attempt's logs: a worker appends them, readers page or follow them. */

import type { AttemptLogs, LogLine } from "../logs.js";
import { attemptPath, claimHeaders, type Held } from "./base.js";
import { BucketsError } from "./errors.js";
import { readEvents } from "./events.js";
import { WorksClient } from "./works.js";

/** What a follow of an attempt's logs saw: which attempt, how much of it was cut, and its end. */
export interface Followed {
  attempt: number;
  cut: number;
  ended: boolean;
}

/** The calls on an attempt's logs: the worker's appends, pages of them, and following them. */
export class LogsClient extends WorksClient {
  /** Appends a batch of output to the attempt the worker holds. */
  async appendLogs(held: Held, lines: LogLine[]): Promise<true> {
    await this.call("POST", attemptPath(held, "logs"), { lines }, claimHeaders(held));
    return true;
  }

  /** One page of an attempt's logs: from `after` (a previous page's `next`), at most `limit` lines. */
  logsPage(
    id: string,
    {
      attempt,
      after,
      limit,
    }: { attempt?: number | undefined; after?: string; limit?: number } = {},
  ): Promise<AttemptLogs> {
    const query = new URLSearchParams({ format: "json" });
    if (attempt !== undefined) query.set("attempt", String(attempt));
    if (after !== undefined) query.set("after", after);
    if (limit !== undefined) query.set("limit", String(limit));
    return this.call("GET", `/work/${encodeURIComponent(id)}/logs?${query}`);
  }

  /** An attempt's logs page by page, oldest first (the latest attempt unless one is named). */
  async *logPages(id: string, attempt?: number): AsyncGenerator<AttemptLogs> {
    let after: string | undefined;
    do {
      const page = await this.logsPage(id, { attempt, ...(after ? { after } : {}) });
      yield page;
      // Later pages of the same attempt: the first page may have named the latest one.
      attempt = page.attempt;
      after = page.next;
    } while (after);
  }

  /** An attempt's logs, every page of them (the latest attempt unless one is named). */
  async logs(id: string, attempt?: number): Promise<AttemptLogs> {
    let all: AttemptLogs | undefined;
    for await (const page of this.logPages(id, attempt)) {
      if (all) all.lines.push(...page.lines);
      else all = { id: page.id, attempt: page.attempt, cut: page.cut, lines: [...page.lines] };
    }
    return all as AttemptLogs;
  }

  /**
   * Follows an attempt's logs as the service streams them (Server-Sent Events), calling `onLine`
   * for each line, until the attempt ends; answers which attempt it followed and how much of its
   * older output was cut. Through the one transport: its token, base URL and errors.
   */
  async followLogs(
    id: string,
    onLine: (line: LogLine) => void,
    { attempt, signal }: { attempt?: number | undefined; signal?: AbortSignal } = {},
  ): Promise<Followed> {
    const query = new URLSearchParams({ follow: "true" });
    if (attempt !== undefined) query.set("attempt", String(attempt));
    const path = `/work/${encodeURIComponent(id)}/logs?${query}`;
    const body = await this.transport.stream(path, signal ? { signal } : {});
    const seen = { attempt: attempt ?? 0, cut: 0, ended: false };
    try {
      for await (const { event, data } of readEvents(body)) {
        if (event === "start") Object.assign(seen, pick(data, ["attempt", "cut"]));
        else if (event === "line") onLine(data as LogLine);
        else if (event === "end") return { ...seen, ended: true };
        else if (event === "error")
          throw new BucketsError(
            503,
            "unavailable",
            `GET ${path}: ${String(pick(data, ["message"]).message)}`,
          );
      }
    } catch (error) {
      if (error instanceof BucketsError) throw error;
      // Stopped mid-stream: the same errors as any other call's.
      const [code, why] = signal?.aborted ? ["aborted", "aborted"] : ["unreachable", String(error)];
      throw new BucketsError(0, code, `GET ${path}: ${why}`, { cause: error });
    }
    return seen;
  }
}

/** The named fields of an event's data, when it is an object. */
function pick(data: unknown, keys: string[]): Record<string, unknown> {
  if (typeof data !== "object" || data === null) return {};
  return Object.fromEntries(
    keys.filter((k) => k in data).map((k) => [k, (data as Record<string, unknown>)[k]]),
  );
}
