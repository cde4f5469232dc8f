/** The client's one HTTP transport: base URLs, timeouts, auth, and errors as BucketsError. */

import { Readable } from "node:stream";
import axios, {
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  isAxiosError,
} from "axios";
import { BucketsError } from "./errors.js";
import type { ClientSettings } from "./settings.js";

/** Per-call options of a request: a long-poll adds its wait to the timeout. */
export interface RequestOptions {
  extraTimeoutSeconds?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/**
 * JSON over HTTP to the first base URL that answers: every call has a timeout, and an error
 * status or a lost connection becomes a BucketsError carrying the service's code and message.
 */
export class Transport {
  readonly #settings: Readonly<ClientSettings>;
  readonly #http: AxiosInstance;
  #baseUrl: Promise<string> | undefined;

  constructor(settings: Readonly<ClientSettings>, workerId?: string) {
    this.#settings = settings;
    this.#http = axios.create({
      timeout: settings.timeout * 1000,
      headers: {
        ...(settings.token ? { authorization: `Bearer ${settings.token}` } : {}),
        ...(workerId ? { "x-worker-id": workerId } : {}),
      },
      // Errors are ours to shape; axios must not throw on a status.
      validateStatus: () => true,
      maxBodyLength: Number.POSITIVE_INFINITY,
      maxContentLength: Number.POSITIVE_INFINITY,
      // The API never redirects; without redirects axios skips follow-redirects, a tenth of a
      // worker's CPU per request.
      maxRedirects: 0,
    });
  }

  /** The first base URL that answers GET /version; the choice is kept for later calls. */
  baseUrl(): Promise<string> {
    this.#baseUrl ??= this.#discover().catch((error: unknown) => {
      this.#baseUrl = undefined;
      throw error;
    });
    return this.#baseUrl;
  }

  async #discover(): Promise<string> {
    const { baseUrls } = this.#settings;
    if (baseUrls.length === 0) {
      throw new BucketsError(
        0,
        "no_url",
        "no service URL: set http.baseurls.buckets in the workspace, WORKFLOW_HTTP_BASEURLS, or pass --url",
      );
    }
    const failures: string[] = [];
    for (const url of baseUrls) {
      try {
        const response = await this.#http.get(`${url}/version`, {
          timeout: Math.min(5_000, this.#settings.timeout * 1000),
        });
        if (response.status === 200) return url;
        failures.push(`${url}: HTTP ${response.status}`);
      } catch (error) {
        failures.push(`${url}: ${(error as Error).message}`);
      }
    }
    throw new BucketsError(
      0,
      "unreachable",
      `cannot reach the buckets service (${failures.join("; ")})`,
    );
  }

  /** One call: the answer's JSON on a 2xx, a BucketsError otherwise. */
  async request<T>(
    method: string,
    path: string,
    data?: unknown,
    { extraTimeoutSeconds = 0, signal, headers }: RequestOptions = {},
  ): Promise<T> {
    const response = await this.#send(method, path, {
      ...(data === undefined ? {} : { data }),
      timeout: (this.#settings.timeout + extraTimeoutSeconds) * 1000,
      ...(signal ? { signal } : {}),
      ...(headers ? { headers } : {}),
    });
    if (response.status >= 200 && response.status < 300) return response.data as T;
    throw refusal(method, path, response, response.data);
  }

  /**
   * A GET whose answer is streamed (Server-Sent Events): its body as it arrives, with the same
   * token, base URL and errors as `request`. No timeout: it lasts until the service ends it or
   * `signal` aborts.
   */
  async stream(path: string, { signal }: { signal?: AbortSignal } = {}) {
    const response = await this.#send("GET", path, {
      responseType: "stream",
      timeout: 0,
      ...(signal ? { signal } : {}),
    });
    const body = response.data as Readable;
    if (response.status >= 200 && response.status < 300) {
      return Readable.toWeb(body) as ReadableStream<Uint8Array>;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    throw refusal("GET", path, response, parsedOrUndefined(text));
  }

  async #send(method: string, path: string, config: AxiosRequestConfig): Promise<AxiosResponse> {
    const base = await this.baseUrl();
    try {
      return await this.#http.request({ method, url: `${base}${path}`, ...config });
    } catch (error) {
      if (config.signal?.aborted)
        throw new BucketsError(0, "aborted", `${method} ${path}: aborted`, { cause: error });
      // The service may have moved: look for a URL that answers again next time.
      this.#baseUrl = undefined;
      const reason = isAxiosError(error) ? (error.code ?? error.message) : String(error);
      throw new BucketsError(0, "unreachable", `${method} ${base}${path}: ${reason}`, {
        cause: error,
      });
    }
  }
}

/** The service's refusal as a BucketsError: its code, message, details and Retry-After. */
function refusal(method: string, path: string, response: AxiosResponse, data: unknown) {
  const body = data as
    | { error?: { code?: string; message?: string; details?: unknown } }
    | undefined;
  const retryAfter = Number(response.headers["retry-after"]);
  return new BucketsError(
    response.status,
    body?.error?.code ?? "http_error",
    `${method} ${path}: ${response.status} ${body?.error?.message ?? response.statusText}`,
    {
      details: body?.error?.details,
      ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
    },
  );
}

function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
