/**
 * Refuses JSON bodies holding a `__proto__` key, walking only the few bodies whose raw bytes might.
 */

import type { IncomingMessage } from "node:http";
import { pathText, protoKeyAt } from "@workflow/work";
import type { NextFunction, Request, Response } from "express";
import { invalid } from "../errors.js";

/** Bodies that may hold a `__proto__` key: the word itself, or an escape that could spell it. */
const suspect = new WeakSet<IncomingMessage>();

/**
 * express.json's `verify`: looks for `__proto__` in the raw bytes, so that only the rare body
 * that may hold one is walked after parsing (a walk of every deposit would cost its every key).
 */
export function notePossibleProtoKey(req: IncomingMessage, _res: unknown, raw: Buffer): void {
  if (raw.includes("__proto__") || raw.includes("\\u")) suspect.add(req);
}

/**
 * Refuses a body with a `__proto__` key anywhere, naming where: JSON.parse keeps it, but every copy
 * of the object after (zod, a spread) drops it without a word, so that parameters lose it and a
 * query of it matches everything.
 */
export function refuseProtoKeys(req: Request, _res: Response, next: NextFunction): void {
  const path = suspect.has(req) ? protoKeyAt(req.body) : undefined;
  if (!path) {
    next();
    return;
  }
  const where = pathText(["body", ...path]);
  next(
    invalid(
      `${where}: "__proto__" may not be a key (JavaScript takes it for the object's prototype, so it would be dropped); rename it`,
      { path: where },
    ),
  );
}
