import { BucketsError, errorFamily } from "@workflow/work";
import { UsageError } from "./input.js";

/**
 * What the CLI prints when a command fails: one line (a person reads it, a script greps it), with
 * what to do next when we know it. Usage errors exit 2, everything else 1.
 */
export function describeFailure(error: unknown): { line: string; exitCode: number } {
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ");
  if (error instanceof UsageError) return { line: message, exitCode: 2 };
  if (error instanceof BucketsError && errorFamily(error.code) === "unauthorized") {
    return {
      line: `the service refused the token (${reasonOf(message)}): ask an operator for a new one (buckets token) and set WORKFLOW_TOKEN`,
      exitCode: 1,
    };
  }
  if (error instanceof BucketsError && error.code === "unreachable") {
    return {
      line: `${message}; is it running, and is the URL right? (--url, WORKFLOW_HTTP_BASEURLS or http.baseurls.buckets in the workspace)`,
      exitCode: 1,
    };
  }
  return { line: message, exitCode: 1 };
}

/** "GET /x: 401 invalid token: jwt expired" says "invalid token: jwt expired". */
function reasonOf(message: string): string {
  return message.replace(/^[A-Z]+ \S+: 401 /, "");
}
