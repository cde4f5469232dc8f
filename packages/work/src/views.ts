/**
 * What the dashboard's Works page asks POST /view for, in one place so that the bench's dashboard
 * scenario measures the page as it is. Imports nothing, so that the dashboard's bundle can share it.
 */
export const WORKS_PAGE_PROJECTION = {
  pipeline: 1,
  status: 1,
  user: 1,
  site: 1,
  tags: 1,
  function: 1,
  command: 1,
  creation: 1,
  attempt: 1,
  parameters: 1,
  step: 1,
  matrix: 1,
  start: 1,
  stop: 1,
  "history.error": 1,
  "results.error": 1,
} as const;
