/** The one door to the service: every call sends the pasted token as a bearer token. */
import { readEvents } from "@workflow/work/events";

const KEY = "buckets.token";

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Told when the service refuses the token (401): the app goes back to its login. */
let onUnauthorized: (error: ApiError) => void = () => {};
export function whenUnauthorized(handler: (error: ApiError) => void): void {
  onUnauthorized = handler;
}

function headers(json: boolean): Record<string, string> {
  const token = storedToken();
  return {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(json ? { "content-type": "application/json" } : {}),
  };
}

async function refusal(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const { error } = JSON.parse(text) as {
      error: { code: string; message: string; details?: unknown };
    };
    return new ApiError(response.status, error.code, error.message, error.details);
  } catch {
    return new ApiError(response.status, "http", text || response.statusText);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) {
    const error = await refusal(response);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  return (await response.json()) as T;
}

/**
 * Asks the service whether it accepts `token` (GET /status with it): the refusal, or null. The
 * login's own check, so a refusal here is the login's message, not a sign-out.
 */
export async function verify(token: string): Promise<ApiError | null> {
  const response = await fetch("/status", { headers: { authorization: `Bearer ${token}` } });
  return response.ok ? null : refusal(response);
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});

/**
 * Follows a server-sent event stream with the token in a header (EventSource cannot send one):
 * fetch's body, split into events. Resolves when the stream ends or `signal` aborts.
 */
export async function follow(
  path: string,
  onEvent: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await fetch(path, { headers: headers(false), signal });
  if (!response.ok || !response.body) {
    const error = await refusal(response);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  try {
    for await (const { event, data } of readEvents(response.body)) onEvent(event, data);
  } catch (error) {
    if (signal.aborted) return;
    throw error;
  }
}
