/** Error fields CHIME's CLI reads, added beside the service's own error body on CHIME's routes. */

import type { RequestHandler } from "express";

/**
 * CHIME's CLI reads an error's text from its own fields (`error_description` for configs,
 * `message` for schedules): this adds them beside the service's `{error: {message}}`.
 */
export function chimeErrors(fields: (message: string) => Record<string, unknown>): RequestHandler {
  return (_req, res, next) => {
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const error = (body as { error?: { message?: string } } | undefined)?.error;
      return json(error?.message ? { ...(body as object), ...fields(error.message) } : body);
    };
    next();
  };
}
