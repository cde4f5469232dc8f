import { createHmac, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jwt from "jsonwebtoken";
import { afterAll, describe, expect, it } from "vitest";
import { mintToken, resolveKeys, verifyToken } from "../src/index.js";
import { startTestService, type TestService } from "./support/service.js";

const OLD = "the-old-secret-0123456789abcdef";
const NEW = "the-new-secret-fedcba9876543210";
const dirs: string[] = [];
const running: TestService[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A keys directory as Kubernetes mounts one: the files, plus hidden `..data` entries to skip. */
function keysDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "buckets-keys-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  symlinkSync(dir, join(dir, "..data"));
  return dir;
}

async function instance(label: string, env: Record<string, string>): Promise<TestService> {
  const service = await startTestService(import.meta.filename, env, label);
  running.push(service);
  return service;
}

const accepted = async (service: TestService, token: string) =>
  (await service.call("GET", "/status", { token })).status;

describe("key rotation without downtime", () => {
  it("two instances roll from one secret to another; every token works on both at every step", async () => {
    // Step 0: both instances sign and verify with the old secret.
    const a0 = await instance("a0", { BUCKETS_JWT_SECRET: OLD });
    const b0 = await instance("b0", { BUCKETS_JWT_SECRET: OLD });
    const old = a0.token("alice", ["work:read"]);
    // A token minted before kids existed: no kid in its header.
    const legacy = jwt.sign({ sub: "alice", scopes: ["work:read"] }, OLD, { algorithm: "HS256" });
    expect(jwt.decode(old, { complete: true })?.header.kid).toBeTruthy();

    // Step 1: the new key is accepted everywhere before anyone signs with it.
    const b1 = await instance("b1", {
      BUCKETS_JWT_SECRET: OLD,
      BUCKETS_JWT_KEYS_DIR: keysDir({ "2026-12.secret": NEW }),
    });
    await b0.close();

    // Step 2: instance A signs with the new key and still accepts the old one.
    const a2 = await instance("a2", {
      BUCKETS_JWT_SECRET: NEW,
      BUCKETS_JWT_KEYS_DIR: keysDir({ "2026-11.secret": OLD }),
    });
    await a0.close();
    const fresh = a2.token("alice", ["work:read"]);
    for (const [name, service] of [
      ["a2", a2],
      ["b1", b1],
    ] as const) {
      expect(await accepted(service, old), `old token on ${name}`).toBe(200);
      expect(await accepted(service, legacy), `legacy token on ${name}`).toBe(200);
      expect(await accepted(service, fresh), `new token on ${name}`).toBe(200);
    }

    // Step 3: once the old tokens have expired, the old key goes; its tokens stop working.
    const a3 = await instance("a3", { BUCKETS_JWT_SECRET: NEW });
    expect(await accepted(a3, fresh)).toBe(200);
    const refused = await a3.call("GET", "/status", { token: old });
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.body)).toContain("unknown key id");
    expect(await accepted(a3, legacy)).toBe(401);
  });

  it("a token naming one key is checked with that key only, its algorithm pinned", () => {
    const dir = keysDir({ "old.secret": OLD });
    const keys = resolveKeys({
      BUCKETS_JWT_SECRET: NEW,
      BUCKETS_JWT_KEYS_DIR: dir,
      BUCKETS_DATA_DIR: dir,
    });
    expect(keys.accepted).toHaveLength(2);
    const oldKid = keys.accepted[1]?.kid as string;
    // Signed with the new secret but claiming the old key's id: refused.
    const lying = jwt.sign({ sub: "x", scopes: ["admin"] }, NEW, {
      algorithm: "HS256",
      keyid: oldKid,
    });
    expect(() => verifyToken(keys, lying)).toThrow(/invalid signature/);
    const none = jwt.sign({ sub: "x", scopes: ["admin"] }, "", {
      algorithm: "none",
      keyid: oldKid,
    });
    expect(() => verifyToken(keys, none)).toThrow(/invalid/);
  });
});

describe("asymmetric keys", () => {
  it("an EC P-384 key signs and verifies ES384", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const pub = publicKey.export({ type: "spki", format: "pem" }).toString();
    const priv = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const service = await instance("es384", {
      BUCKETS_JWT_SECRET: "",
      BUCKETS_JWT_PUBLIC_KEY: pub,
      BUCKETS_JWT_PRIVATE_KEY: priv,
    });
    expect(service.service.keys.algorithm).toBe("ES384");
    const token = service.token("alice", ["work:read"]);
    expect(jwt.decode(token, { complete: true })?.header.alg).toBe("ES384");
    expect(await accepted(service, token)).toBe(200);
    // Another P-384 key's token is refused, and so is the public key used as an HMAC secret.
    const stranger = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
    const forged = jwt.sign({ sub: "alice", scopes: ["admin"] }, stranger, { algorithm: "ES384" });
    expect(await accepted(service, forged)).toBe(401);
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsigned = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "alice", scopes: ["admin"] })}`;
    const confused = `${unsigned}.${createHmac("sha256", pub).update(unsigned).digest("base64url")}`;
    expect(await accepted(service, confused)).toBe(401);
  });

  it("a verify-only service accepts tokens of a key in its keys directory (RSA next to EC)", async () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const dir = keysDir({
      "rsa.pem": rsa.publicKey.export({ type: "spki", format: "pem" }).toString(),
    });
    const keys = resolveKeys({
      BUCKETS_JWT_PUBLIC_KEY: ec.publicKey.export({ type: "spki", format: "pem" }).toString(),
      BUCKETS_JWT_KEYS_DIR: dir,
      BUCKETS_DATA_DIR: dir,
    });
    expect(keys.signKey).toBeUndefined();
    expect(keys.accepted.map((k) => k.algorithm)).toEqual(["ES256", "RS256"]);
    const token = jwt.sign({ sub: "alice", scopes: ["work:read"] }, rsa.privateKey, {
      algorithm: "RS256",
      keyid: keys.accepted[1]?.kid as string,
    });
    expect(verifyToken(keys, token)).toMatchObject({ sub: "alice" });
    expect(() => mintToken(keys, { user: "x", scopes: ["admin"] })).toThrow(
      /only BUCKETS_JWT_PUBLIC_KEY/,
    );
  });

  it("refuses keys it cannot pin an algorithm to, naming the file", () => {
    const ed = generateKeyPairSync("ed25519")
      .publicKey.export({ type: "spki", format: "pem" })
      .toString();
    const dir = keysDir({ "ed.pem": ed });
    expect(() =>
      resolveKeys({ BUCKETS_JWT_SECRET: NEW, BUCKETS_JWT_KEYS_DIR: dir, BUCKETS_DATA_DIR: dir }),
    ).toThrow(/BUCKETS_JWT_KEYS_DIR\/ed.pem: a ed25519 key/);
    const broken = keysDir({
      "broken.pem": "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----",
    });
    expect(() =>
      resolveKeys({
        BUCKETS_JWT_SECRET: NEW,
        BUCKETS_JWT_KEYS_DIR: broken,
        BUCKETS_DATA_DIR: broken,
      }),
    ).toThrow(/BUCKETS_JWT_KEYS_DIR\/broken.pem: not a PEM key/);
    expect(() =>
      resolveKeys({
        BUCKETS_JWT_SECRET: NEW,
        BUCKETS_JWT_KEYS_DIR: "/no/such/dir",
        BUCKETS_DATA_DIR: "/tmp",
      }),
    ).toThrow(/BUCKETS_JWT_KEYS_DIR: cannot read \/no\/such\/dir/);
    const short = keysDir({ "short.secret": "tiny" });
    expect(() =>
      resolveKeys({
        BUCKETS_JWT_SECRET: NEW,
        BUCKETS_JWT_KEYS_DIR: short,
        BUCKETS_DATA_DIR: short,
      }),
    ).toThrow(/16 characters/);
  });
});
