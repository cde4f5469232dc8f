/** Parsers for command-line values, shared by the commands. */

import { InvalidArgumentError } from "commander";

export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("must be a whole number");
  return n;
}

export function number(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n))
    throw new InvalidArgumentError("must be a number");
  return n;
}
