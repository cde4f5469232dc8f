/**
 * Pipeline configs (version 2) as the tests write them: as objects, as a client sends them, and
 * in YAML, as a user writes them. Each names only its steps and what it sets beside them.
 */

/** A config of `steps` on site "local", with `defaults` beside the site and `extra` beside them. */
export const pipelineConfig = (
  name: string,
  steps: unknown[],
  defaults: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) => ({
  version: "2",
  name,
  defaults: { site: "local", ...defaults },
  ...extra,
  pipeline: { steps },
});

/**
 * The YAML of a config whose steps are the lines `steps` (under `pipeline.steps`), as `user`
 * on site local; `header` lines go after its name (a timeout, a max-parallel).
 */
export const yamlConfig = (
  name: string,
  steps: string[],
  { user = "alice", header = [] }: { user?: string; header?: string[] } = {},
) =>
  [
    'version: "2"',
    `name: ${name}`,
    ...header,
    `defaults: {user: ${user}, site: local}`,
    "pipeline:",
    "  steps:",
    ...steps,
  ].join("\n");

/** The YAML lines of one step `one` (stage 1) that runs `command`. */
export const stepOne = (command: string[] = ["true"]) => [
  "    - name: one",
  "      stage: 1",
  `      work: {command: ${JSON.stringify(command)}}`,
];
