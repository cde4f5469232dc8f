/** The dashboard's shell: the session, the navigation and the page for each route. */

import { html } from "htm/preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { type ApiError, storedToken, storeToken, verify, whenUnauthorized } from "./api.js";
import { messageOf, when } from "./format.js";
import { Overview } from "./pages/overview.js";
import { Results } from "./pages/results.js";
import { RunPage, Runs } from "./pages/runs.js";
import { Schedules } from "./pages/schedules.js";
import { WorkPage } from "./pages/work.js";
import { Works } from "./pages/works.js";
import { href, useRoute } from "./router.js";
import { type Claims, canAct, claimsOf, expired } from "./token.js";

export interface Session {
  claims: Claims;
  /** Whether the token may act (owner or admin): action buttons are shown only then. */
  acts: boolean;
}

function Login({ problem, onIn }: { problem: string | undefined; onIn: (token: string) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(problem);
  const [busy, setBusy] = useState(false);
  useEffect(() => setError(problem), [problem]);
  const submit = async (event: Event) => {
    event.preventDefault();
    const pasted = token.trim();
    const claims = claimsOf(pasted);
    if (!claims) {
      setError(
        "This is not a buckets token: paste the whole token (three parts separated by dots).",
      );
      return;
    }
    if (expired(claims)) {
      setError(`This token expired at ${when(claims.exp)}: ask an admin for a new one.`);
      return;
    }
    setBusy(true);
    try {
      // The service decides: a token it does not accept never gets past the login.
      const refused = await verify(pasted);
      if (refused) {
        setError(`The service refused this token: ${messageOf(refused)}`);
        return;
      }
      storeToken(pasted);
      onIn(pasted);
    } catch (e) {
      setError(`The service could not be reached: ${messageOf(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <h1>buckets</h1>
    <form onSubmit=${submit}>
      <label for="token">Token</label>
      <textarea
        id="token"
        name="token"
        rows="4"
        placeholder="Paste a token: the output of workflow token or buckets token, or your WORKFLOW_TOKEN"
        value=${token}
        onInput=${(e: Event) => setToken((e.target as HTMLTextAreaElement).value)}
      ></textarea>
      <p class="hint">
        Kept in this tab only (sessionStorage) and sent as a bearer token; no cookies.
      </p>
      ${error ? html`<p class="error" role="alert" data-test="login-error">${error}</p>` : null}
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

function Nav({ session, onOut }: { session: Session; onOut: () => void }) {
  const route = useRoute();
  const at = route.path[0] ?? "overview";
  const link = (path: string, label: string) =>
    html`<a href=${href(path)} class=${at === path ? "active" : ""}>${label}</a>`;
  const { claims } = session;
  return html`<header>
    <strong class="brand">buckets</strong>
    <nav>
      ${link("overview", "Overview")} ${link("works", "Works")} ${link("results", "Results")}${" "}
      ${link("runs", "Runs")}${" "}
      ${link("schedules", "Schedules")} <a href="/docs">API</a>
    </nav>
    <span class="who" data-test="who">
      ${claims.sub} · ${claims.scopes.join(", ")}
      ${claims.pipelines ? ` · pipelines ${claims.pipelines.join(", ")}` : ""}
      ${session.acts ? "" : html` · <em data-test="read-only">read only</em>`}
      ${claims.exp ? ` · until ${when(claims.exp)}` : ""}
    </span>
    <button class="link" onClick=${onOut}>Sign out</button>
  </header>`;
}

function Page({ session }: { session: Session }) {
  const { path, params } = useRoute();
  const [page = "overview", id] = path;
  switch (page) {
    case "works":
      return html`<${Works} session=${session} params=${params} />`;
    case "results":
      return html`<${Results} params=${params} />`;
    case "work":
      return html`<${WorkPage} session=${session} id=${id ?? ""} />`;
    case "runs":
      return id
        ? // Keyed: another run's page starts afresh, without this one's last message.
          html`<${RunPage} key=${id} session=${session} id=${id} />`
        : html`<${Runs} params=${params} />`;
    case "schedules":
      return html`<${Schedules} session=${session} />`;
    case "overview":
      return html`<${Overview} />`;
    default:
      return html`<${NotFound} path=${path.join("/")} />`;
  }
}

/** A route the dashboard does not have (a mistyped or old link): said at once, with the way on. */
function NotFound({ path }: { path: string }) {
  return html`<section data-test="not-found">
    <h2>No such page</h2>
    <p>The dashboard has no page <code>#/${path}</code>.</p>
    <p>
      ${"Go to "}<a href=${href("overview")}>Overview</a>${", "}<a href=${href("works")}>Works</a>${", "}<a href=${href("runs")}>Runs</a>${" or "}<a href=${href("schedules")}>Schedules</a>.
    </p>
  </section>`;
}

function App() {
  const [token, setToken] = useState(storedToken);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  useEffect(() => {
    whenUnauthorized((error: ApiError) => {
      storeToken(null);
      setToken(null);
      setProblem(`Signed out: the service refused the token (${error.message}).`);
    });
  }, []);
  const claims = token ? claimsOf(token) : null;
  if (!token || !claims || expired(claims)) {
    const why =
      problem ??
      (claims && expired(claims) ? `The token expired at ${when(claims.exp)}.` : undefined);
    return html`<${Login}
      problem=${why}
      onIn=${(t: string) => {
        setProblem(undefined);
        setToken(t);
      }}
    />`;
  }
  const session: Session = { claims, acts: canAct(claims) };
  return html`<${Nav}
      session=${session}
      onOut=${() => {
        storeToken(null);
        setToken(null);
        setProblem(undefined);
      }}
    />
    <main><${Page} session=${session} /></main>`;
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(html`<${App} />`, root);
}
