/**
 * How JSON bodies are read: the size cap, a key count before parsing, and the `__proto__` guard.
 */

import express, { type RequestHandler } from "express";
import { MAX_DOCUMENT_BYTES } from "../service/context.js";
import { notePossibleProtoKey } from "./proto.js";

/**
 * The largest body the service reads, in bytes: no one work can be larger (works are capped at
 * 4 MB of results each), and a request of many smaller works can be sent in several.
 */
export const BODY_LIMIT = MAX_DOCUMENT_BYTES;

/**
 * The most object keys one JSON body may hold (20 for each work of the largest batch). Parsing
 * costs by the key: a 13 MB body of 800,000 keys held the event loop for seconds before any
 * validation could refuse it, so the keys are counted on the raw bytes first, which is some ten
 * times cheaper than parsing them.
 */
export const MAX_BODY_KEYS = 200_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** The colons outside strings (one per object key), counting no further than past `limit`. */
export function countKeys(bytes: Uint8Array, limit: number): number {
  let keys = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === COLON && ++keys > limit) return keys;
  }
  return keys;
}

/**
 * express.json, refusing (413, type entity.keys.too_many) a body past MAX_BODY_KEYS before parsing
 * it, and noting the bodies that may hold a `__proto__` key (refuseProtoKeys then looks).
 */
export function jsonBody(): RequestHandler {
  return express.json({
    limit: BODY_LIMIT,
    strict: false,
    verify: (req, res, buffer) => {
      notePossibleProtoKey(req, res, buffer);
      if (countKeys(buffer, MAX_BODY_KEYS) > MAX_BODY_KEYS) {
        throw Object.assign(new Error(`more than ${MAX_BODY_KEYS} keys`), {
          status: 413,
          type: "entity.keys.too_many",
        });
      }
    },
  });
}
