/**
 * A port for a mongod that a test starts, below Linux's ephemeral range (32768-60999).
 *
 * mongodb-memory-server picks a free port by listening on port 0, and mongod binds it seconds later.
 * In the ephemeral range, the connections of a busy test run can take that port in between, or leave
 * it in TIME_WAIT, which a mongod built without SO_REUSEADDR (the Windows build some machines run)
 * cannot bind: it exits with code 1 and the file fails before its first test. No outgoing connection
 * takes a port below the range. Random, so that files starting at once rarely meet; when one is held
 * all the same, mongodb-memory-server moves on to a port of its own.
 */
export function mongodPort(): number {
  return 20_000 + Math.floor(Math.random() * 12_000);
}
