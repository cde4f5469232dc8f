import { createPublicKey, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Algorithm } from "jsonwebtoken";

/** How tokens are checked, and (when the service can) made. Algorithms are pinned per key. */
export interface Keys {
  algorithm: Algorithm;
  verifyKey: string;
  /** Absent when only a public key is configured: such a service verifies but cannot mint. */
  signKey?: string;
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
    const type = createPublicKey(pem).asymmetricKeyType;
    if (type !== "rsa" && type !== "ec") {
      throw new Error(
        `BUCKETS_JWT_PUBLIC_KEY: a ${type} key; use an RSA (RS256) or EC (ES256) key`,
      );
    }
    const algorithm = type === "rsa" ? "RS256" : "ES256";
    return {
      algorithm,
      verifyKey: pem,
      ...(options.BUCKETS_JWT_PRIVATE_KEY ? { signKey: options.BUCKETS_JWT_PRIVATE_KEY } : {}),
      generated: false,
    };
  }
  if (options.BUCKETS_JWT_SECRET) {
    const secret = options.BUCKETS_JWT_SECRET;
    return { algorithm: "HS256", verifyKey: secret, signKey: secret, generated: false };
  }
  const secret = loadOrCreateSecret(options.BUCKETS_DATA_DIR);
  return { algorithm: "HS256", verifyKey: secret, signKey: secret, generated: true };
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
