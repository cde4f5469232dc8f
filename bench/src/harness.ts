/** The bench's harness: its mongod, services started as separate processes, clients and tokens. */

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { mintToken, resolveKeys } from "@workflow/buckets";
import { type Collection, type Db, type IndexDescription, MongoClient, ObjectId } from "mongodb";
import { MongoMemoryServer } from "mongodb-memory-server";

export const ROOT = join(import.meta.dirname, "..", "..");

/**
 * Node flags for the service and the workers the bench starts, for profiling them:
 * BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- --only endToEnd
 */
export const NODE_ARGS = process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
/** Node flags for the service alone (its profile without the workers'): BENCH_SERVICE_NODE_ARGS. */
const SERVICE_NODE_ARGS = process.env.BENCH_SERVICE_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
const SECRET = "bench-secret-0123456789abcdef";
/** The node flags of the service's bin (its `#!/usr/bin/env -S node ...` line), as users run it. */
const SERVICE_FLAGS =
  readFileSync(join(ROOT, "packages/buckets/bin/buckets.js"), "utf8")
    .split("\n", 1)[0]
    ?.split(/\s+/)
    .slice(3) ?? [];

export interface Client {
  http<T>(method: string, path: string, body?: unknown): Promise<T>;
  close(): void;
}

/** The service as a separate process, on one database of the bench's mongod. */
export interface Service {
  url: string;
  process: ChildProcess;
  /** POST/GET against the service with the admin token, JSON in and out. */
  http<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** The same on an agent of its own, with as many sockets as requests (long-polls); another token. */
  client(token?: string): Client;
  /** A raw request with a token of the caller's (the abuse scenarios read statuses and streams). */
  raw(method: string, path: string, token: string, body?: string): Promise<number>;
  /** A GET answered as text (/metrics). */
  text(path: string): Promise<string>;
  /** The service's resident memory and the CPU it has used, from its own /metrics. */
  serviceUsage(): Promise<{ rss: number; cpuSeconds: number; waiters: number }>;
  stop(): Promise<void>;
}

export interface Harness extends Service {
  mongod: MongoMemoryServer;
  mongo: MongoClient;
  db: Db;
  token: string;
  works: Collection;
  /** Another service on database `name` of the same mongod (its works in `h.mongo.db(name)`). */
  startService(name: string): Promise<Service>;
  /** Another instance of the service on the same database, as a second replica would be deployed. */
  startInstance(): Promise<Service>;
  /** The mongod's process id, to read how busy it was. */
  mongodPid: number | undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const keys = resolveKeys({ BUCKETS_JWT_SECRET: SECRET, BUCKETS_DATA_DIR: "/nonexistent" });
const token = mintToken(keys, { user: "bench", scopes: ["admin"] });

/** A token of another user (the abuse scenarios' abuser), with every scope. */
export const tokenOf = (user: string) => mintToken(keys, { user, scopes: ["admin"] });

async function startService(uri: string): Promise<Service> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = spawn(
    process.execPath,
    [
      ...SERVICE_FLAGS,
      ...NODE_ARGS,
      ...SERVICE_NODE_ARGS,
      join(ROOT, "packages/buckets/dist/cli.js"),
      "serve",
    ],
    {
      env: {
        PATH: process.env.PATH ?? "",
        PORT: String(port),
        HOST: "127.0.0.1",
        MONGODB_URI: uri,
        BUCKETS_JWT_SECRET: SECRET,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      if (i > 300) throw new Error("the service did not start");
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const jsonOver =
    (agent: Agent, bearer = token) =>
    async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const { status, text } = await request(agent, `${url}${path}`, method, bearer, body);
      if (status >= 400) throw new Error(`${method} ${path}: ${status} ${text}`);
      return JSON.parse(text) as T;
    };
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  // Abusers' requests (long-polls, followers) never wait for a socket behind each other.
  const rawAgent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const text = async (path: string) => {
    const answer = await request(agent, `${url}${path}`, "GET", token, undefined);
    if (answer.status >= 400) throw new Error(`GET ${path}: ${answer.status} ${answer.text}`);
    return answer.text;
  };
  const gauge = (metrics: string, name: string) =>
    Number(new RegExp(`^${name} ([0-9.e+]+)`, "m").exec(metrics)?.[1] ?? 0);
  return {
    url,
    process: service,
    http: jsonOver(agent),
    client(other = token) {
      const own = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
      return { http: jsonOver(own, other), close: () => own.destroy() };
    },
    async raw(method, path, bearer, body) {
      const answer = await request(rawAgent, `${url}${path}`, method, bearer, body, true);
      return answer.status;
    },
    text,
    async serviceUsage() {
      const metrics = await text("/metrics");
      return {
        rss: gauge(metrics, "process_resident_memory_bytes"),
        cpuSeconds: gauge(metrics, "process_cpu_seconds_total"),
        waiters: gauge(metrics, "buckets_longpoll_waiters"),
      };
    },
    async stop() {
      const exited = new Promise((resolve) => service.once("exit", resolve));
      service.kill("SIGTERM");
      await exited;
      agent.destroy();
      rawAgent.destroy();
    },
  };
}

/** Its own mongod (the binary the tests use) and the service on its database `bench`. */
export async function startHarness(): Promise<Harness> {
  // Other engineers share these cores: mongod may take longer than the default 10 s to start.
  const mongod = await MongoMemoryServer.create({ instance: { launchTimeout: 60_000 } });
  const service = await startService(mongod.getUri("bench"));
  const mongo = await MongoClient.connect(mongod.getUri("bench"));
  const db = mongo.db("bench");
  return {
    ...service,
    mongod,
    mongo,
    db,
    token,
    works: db.collection("works"),
    startService: (name) => startService(mongod.getUri(name)),
    startInstance: () => startService(mongod.getUri("bench")),
    mongodPid: mongod.instanceInfo?.instance.mongodProcess?.pid,
    async stop() {
      await service.stop();
      await mongo.close();
      await mongod.stop();
    },
  };
}

const DIGEST = "bench".padEnd(43, "-");
/** Which deposit stored a work: one id per request, in the service. */
const INCARNATION = new ObjectId();

/**
 * A queued work in the shape the service stores (what a deposit writes), the same size: `received`
 * a double (unix seconds with a fraction), `digest` as long as the service's (sha256, base64url),
 * which it stores for every work deposited with its own id, the deposit's `incarnation`, and the
 * cache `key` every work gets (`k1:` and a sha256 in hex).
 */
export function queuedDoc(i: number, pipeline = "bench"): Record<string, unknown> {
  return {
    pipeline,
    site: "local",
    user: "bench",
    command: ["true"],
    creation: 1_000_000 + i,
    attempt: 0,
    status: "queued",
    timeout: 3600,
    retries: 2,
    priority: (i % 5) + 1,
    config: { archive: { results: true, products: "copy", plots: "copy" } },
    notify: { slack: {} },
    notBefore: 0,
    received: 1_000_000.5 + i,
    digest: DIGEST,
    incarnation: INCARNATION,
    key: `k1:${String(i).padStart(64, "0")}`,
  };
}

/** The indexes the service made for its works (keys, names, partial filters), to make elsewhere. */
export async function workIndexes(h: Harness): Promise<IndexDescription[]> {
  const indexes = (await h.works.listIndexes().toArray()).filter((ix) => ix.name !== "_id_");
  return indexes.map(({ key, name, partialFilterExpression }) => ({
    key,
    name,
    ...(partialFilterExpression ? { partialFilterExpression } : {}),
  }));
}

/** Runs `n` loops at once until each says it is done. */
export async function concurrently(n: number, loop: () => Promise<boolean>): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (await loop()) {
        // keep going
      }
    }),
  );
}

/**
 * One JSON request on a keep-alive agent. node:http, not fetch: it is what axios (and so the worker)
 * uses, and it costs the bench about half the CPU per request, CPU the service and mongod share.
 */
function request(
  agent: Agent,
  url: string,
  method: string,
  token: string,
  body: unknown,
  /** Sent as it is (a string), and the answer's body not kept. */
  raw = false,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : raw ? (body as string) : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        agent,
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => {
          if (!raw) chunks.push(chunk);
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => {
      // A kept-alive socket the service closed as idle (its 5 s keep-alive) while this request
      // was being sent on it: the request never reached the service, so it is sent again.
      if (req.reusedSocket && error.code === "ECONNRESET") {
        request(agent, url, method, token, body, raw).then(resolve, reject);
      } else reject(error);
    });
    req.end(payload);
  });
}
