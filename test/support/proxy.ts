import { createServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP proxy in front of the service that answers 503 for the requests a test cuts, holds the
 * ones it slows for a while before passing them on (a reachable but slow service), and hangs up
 * on the caller of the ones it drops once the service has done them (an answer lost on the way).
 */
export interface CuttingProxy {
  url: string;
  /** Requests for which this answers true get 503 instead of reaching the service. */
  cut: (req: IncomingMessage) => boolean;
  /** Milliseconds to hold a request before it goes on to the service; 0 passes it at once. */
  slow: (req: IncomingMessage) => number;
  /** What a cut request is answered: the error's message, and a Retry-After (s) if any. */
  refusal: { message: string; retryAfter?: number };
  /** Requests for which this answers true reach the service; their caller never gets the answer. */
  drop: (req: IncomingMessage) => boolean;
  /** Sees each answer the service gave, with its status (dropped ones too). */
  answered: (req: IncomingMessage, status: number) => void;
  /** When each request was cut (ms since the epoch). */
  readonly refused: number[];
  close(): Promise<void>;
}

export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const to = new URL(target);
  const proxy: CuttingProxy = {
    url: "",
    cut: () => false,
    slow: () => 0,
    refusal: { message: "cut by the test" },
    drop: () => false,
    answered: () => {},
    refused: [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer(async (req, res) => {
    const hold = proxy.slow(req);
    if (hold > 0) await new Promise((resolve) => setTimeout(resolve, hold));
    if (proxy.cut(req)) {
      proxy.refused.push(Date.now());
      req.resume();
      const { message, retryAfter } = proxy.refusal;
      res.writeHead(503, {
        "content-type": "application/json",
        ...(retryAfter === undefined ? {} : { "retry-after": String(retryAfter) }),
      });
      res.end(JSON.stringify({ error: { code: "unavailable", message } }));
      return;
    }
    const dropped = proxy.drop(req);
    const upstream = request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        proxy.answered(req, answer.statusCode ?? 0);
        if (dropped) {
          answer.resume();
          answer.on("end", () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
