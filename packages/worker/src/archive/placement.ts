/** What an archive (posix, S3) must do to receive a work's files. */

/** One archive's way of receiving a file (or a directory) under the work's folder. */
export interface Placement {
  /**
   * Puts `source` in the archive as `name`, removing the original when `remove` (a move), and
   * answers where it went: a path, or a URL.
   */
  put(source: string, name: string, remove: boolean): Promise<string>;
}
