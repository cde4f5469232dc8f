/** The package's errors, each with a stable code. */

import type { z } from "zod";

/** Base of every error this package throws; `code` is stable and never reused. */
export class WorkflowError extends Error {
  readonly code: string;
  readonly details?: unknown;
  constructor(code: string, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }
}

/** A work (or part of one) that the schema refuses. `details` holds the zod issues. */
export class InvalidWorkError extends WorkflowError {
  constructor(message: string, issues: z.core.$ZodIssue[] = []) {
    super("invalid", message, { details: issues });
  }
}

/** A setting from the environment or a secrets file that cannot be used; names its source. */
export class SettingError extends WorkflowError {
  readonly source: string;
  constructor(source: string, message: string) {
    super("invalid_setting", `${source}: ${message}`);
    this.source = source;
  }
}

/** A workspace file that is missing or invalid; names the file and, when known, the key. */
export class WorkspaceError extends WorkflowError {
  readonly file: string;
  readonly key?: string;
  constructor(file: string, message: string, key?: string) {
    super("invalid_workspace", `workspace ${file}: ${key ? `${key}: ` : ""}${message}`);
    this.file = file;
    if (key) this.key = key;
  }
}

/** One line per issue: `path: message`, the form every caller shows. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}
