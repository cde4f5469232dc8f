import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Algorithm } from "jsonwebtoken";

/**
 * How tokens are checked, and (when the service can) made. Algorithms are pinned per key. Keys are
 * parsed once: given a string, jsonwebtoken parses it again on every request (tries it as a public
 * key and throws before reading it as a secret), which cost more than the rest of the request.
 */
export interface Keys {
  algorithm: Algorithm;
  verifyKey: KeyObject;
  /** Absent when only a public key is configured: such a service verifies but cannot mint. */
  signKey?: KeyObject;
  /** True when the secret was generated into the data directory on this start or an earlier one. */
  generated: boolean;
}

export interface KeyOptions {
  BUCKETS_JWT_SECRET?: string | undefined;
  BUCKETS_JWT_PUBLIC_KEY?: string | undefined;
  BUCKETS_JWT_PRIVATE_KEY?: string | undefined;
  BUCKETS_DATA_DIR: string;
}

const SECRET_FILE = "jwt-secret";

export function resolveKeys(options: KeyOptions): Keys {
  if (options.BUCKETS_JWT_PUBLIC_KEY) {
    const pem = options.BUCKETS_JWT_PUBLIC_KEY;
    const verifyKey = createPublicKey(pem);
    const type = verifyKey.asymmetricKeyType;
    if (type !== "rsa" && type !== "ec") {
      throw new Error(
        `BUCKETS_JWT_PUBLIC_KEY: a ${type} key; use an RSA (RS256) or EC (ES256) key`,
      );
    }
    const algorithm = type === "rsa" ? "RS256" : "ES256";
    return {
      algorithm,
      verifyKey,
      ...(options.BUCKETS_JWT_PRIVATE_KEY
        ? { signKey: createPrivateKey(options.BUCKETS_JWT_PRIVATE_KEY) }
        : {}),
      generated: false,
    };
  }
  if (options.BUCKETS_JWT_SECRET) {
    return { ...secretKeys(options.BUCKETS_JWT_SECRET), generated: false };
  }
  return { ...secretKeys(loadOrCreateSecret(options.BUCKETS_DATA_DIR)), generated: true };
}

function secretKeys(secret: string): Pick<Keys, "algorithm" | "verifyKey" | "signKey"> {
  const key = createSecretKey(Buffer.from(secret, "utf8"));
  return { algorithm: "HS256", verifyKey: key, signKey: key };
}

/** A random secret kept in the data directory (mode 0600), made on first use. */
function loadOrCreateSecret(dataDir: string): string {
  const file = join(dataDir, SECRET_FILE);
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(48).toString("base64url");
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
    return secret;
  }
}
