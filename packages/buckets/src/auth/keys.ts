/**
 * The keys tokens are verified (and, when the service holds one, signed) with: loaded, pinned to an
 * algorithm and parsed once.
 */

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Algorithm } from "jsonwebtoken";

/** A key a token may be signed with, named by its `kid` (its RFC 7638 thumbprint). */
export interface VerifyingKey {
  kid: string;
  algorithm: Algorithm;
  verifyKey: KeyObject;
}

/**
 * How tokens are checked, and (when the service can) made. Algorithms are pinned per key. Keys are
 * parsed once: given a string, jsonwebtoken parses it again on every request (tries it as a public
 * key and throws before reading it as a secret), which cost more than the rest of the request.
 */
export interface Keys extends VerifyingKey {
  /** Absent when only a public key is configured: such a service verifies but cannot mint. */
  signKey?: KeyObject;
  /** True when the secret was generated into the data directory on this start or an earlier one. */
  generated: boolean;
  /** Every key accepted: the main one first, then those of BUCKETS_JWT_KEYS_DIR. */
  accepted: VerifyingKey[];
}

export interface KeyOptions {
  BUCKETS_JWT_SECRET?: string | undefined;
  BUCKETS_JWT_PUBLIC_KEY?: string | undefined;
  BUCKETS_JWT_PRIVATE_KEY?: string | undefined;
  BUCKETS_JWT_KEYS_DIR?: string | undefined;
  BUCKETS_DATA_DIR: string;
}

const SECRET_FILE = "jwt-secret";

/**
 * `create: false` is for `buckets token`: a secret it generated would be one no service knows,
 * so without a configured key or the data directory's secret it refuses (a NoSigningKeyError).
 */
export function resolveKeys(options: KeyOptions, { create = true } = {}): Keys {
  const main = mainKey(options, create);
  const more = options.BUCKETS_JWT_KEYS_DIR ? readKeysDir(options.BUCKETS_JWT_KEYS_DIR) : [];
  const accepted = [main, ...more.filter((key) => key.kid !== main.kid)];
  return { ...main, accepted };
}

/** The key a token names by its `kid`; without one (tokens minted before kids), each of its alg. */
export function keysFor(keys: Keys, header: { kid?: string; alg?: string }): VerifyingKey[] {
  if (header.kid !== undefined) {
    const key = keys.accepted.find((k) => k.kid === header.kid);
    if (!key) throw new Error(`unknown key id "${String(header.kid).slice(0, 64)}"`);
    return [key];
  }
  const candidates = keys.accepted.filter((k) => k.algorithm === header.alg);
  if (candidates.length === 0) {
    throw new Error(`${String(header.alg).slice(0, 16)} tokens are not accepted here`);
  }
  return candidates;
}

function mainKey(options: KeyOptions, create: boolean): Omit<Keys, "accepted"> {
  if (options.BUCKETS_JWT_PUBLIC_KEY) {
    const verifyKey = createPublicKey(options.BUCKETS_JWT_PUBLIC_KEY);
    return {
      ...verifying(verifyKey, "BUCKETS_JWT_PUBLIC_KEY"),
      ...(options.BUCKETS_JWT_PRIVATE_KEY
        ? { signKey: createPrivateKey(options.BUCKETS_JWT_PRIVATE_KEY) }
        : {}),
      generated: false,
    };
  }
  if (options.BUCKETS_JWT_SECRET) {
    const key = createSecretKey(Buffer.from(options.BUCKETS_JWT_SECRET, "utf8"));
    return { ...verifying(key, "BUCKETS_JWT_SECRET"), signKey: key, generated: false };
  }
  const key = createSecretKey(
    Buffer.from(loadOrCreateSecret(options.BUCKETS_DATA_DIR, create), "utf8"),
  );
  return { ...verifying(key, "the generated secret"), signKey: key, generated: true };
}

/**
 * Each file of the directory is one more key that verifies tokens: a PEM public key (a private one
 * is reduced to its public half) or an HS256 secret. Hidden entries and directories are skipped, as
 * Kubernetes mounts a secret's files next to its `..data` links.
 */
function readKeysDir(dir: string): VerifyingKey[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter(
      (name) => !name.startsWith(".") && statSync(join(dir, name)).isFile(),
    );
  } catch (error) {
    throw new Error(`BUCKETS_JWT_KEYS_DIR: cannot read ${dir}: ${(error as Error).message}`);
  }
  return names.sort().map((name) => {
    const source = `BUCKETS_JWT_KEYS_DIR/${name}`;
    const text = readFileSync(join(dir, name), "utf8").trim();
    if (text.startsWith("-----BEGIN")) {
      let key: KeyObject;
      try {
        key = /PRIVATE KEY-----/.test(text)
          ? createPublicKey(createPrivateKey(text))
          : createPublicKey(text);
      } catch (error) {
        throw new Error(
          `${source}: not a PEM key this service can read (${(error as Error).message})`,
        );
      }
      return verifying(key, source);
    }
    if (text.length < 16) throw new Error(`${source}: a secret must be 16 characters or more`);
    return verifying(createSecretKey(Buffer.from(text, "utf8")), source);
  });
}

const EC_ALGORITHMS: Record<string, Algorithm> = {
  prime256v1: "ES256",
  secp384r1: "ES384",
  secp521r1: "ES512",
};

/** The algorithm a key implies: a secret HS256, RSA RS256, EC by its curve (P-384 is ES384). */
function verifying(key: KeyObject, source: string): VerifyingKey {
  return { kid: thumbprint(key), algorithm: algorithmOf(key, source), verifyKey: key };
}

function algorithmOf(key: KeyObject, source: string): Algorithm {
  if (key.type === "secret") return "HS256";
  const type = key.asymmetricKeyType;
  if (type === "rsa") return "RS256";
  const curve = key.asymmetricKeyDetails?.namedCurve ?? "";
  if (type === "ec" && EC_ALGORITHMS[curve]) return EC_ALGORITHMS[curve];
  throw new Error(
    `${source}: a ${type} key${curve ? ` on ${curve}` : ""}; use an RSA key (RS256) or an EC key on P-256, P-384 or P-521 (ES256, ES384, ES512)`,
  );
}

/** RFC 7638: SHA-256 of the key's required JWK members in order; names a key, reveals nothing. */
function thumbprint(key: KeyObject): string {
  const jwk = (key.type === "private" ? createPublicKey(key) : key).export({ format: "jwk" });
  const members =
    jwk.kty === "oct"
      ? { k: jwk.k, kty: jwk.kty }
      : jwk.kty === "EC"
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}

/** No key is configured and the data directory holds no generated secret. */
export class NoSigningKeyError extends Error {
  constructor(readonly file: string) {
    super(
      [
        "no key to sign tokens with, and none is generated here: the service would refuse its tokens.",
        `  looked for: BUCKETS_JWT_SECRET and BUCKETS_JWT_PRIVATE_KEY (unset), then ${file} (absent; \`buckets serve\` generates it in its data directory)`,
        "  point it at the service's key: BUCKETS_JWT_SECRET=..., or the service's data directory with --data-dir DIR or BUCKETS_DATA_DIR=DIR",
      ].join("\n"),
    );
    this.name = "NoSigningKeyError";
  }
}

/** A random secret kept in the data directory (mode 0600), made on first use when `create`. */
function loadOrCreateSecret(dataDir: string, create: boolean): string {
  const file = join(dataDir, SECRET_FILE);
  try {
    return readFileSync(file, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`cannot read the generated secret ${file}: ${(error as Error).message}`);
    }
    if (!create) throw new NoSigningKeyError(resolve(file));
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(48).toString("base64url");
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
    return secret;
  }
}
