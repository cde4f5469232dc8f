/** /docs: the OpenAPI document as a page, read from /openapi.json (no token needed, no CDN). */

import { html } from "htm/preact";
import { render } from "preact";

interface Operation {
  summary?: string;
  parameters?: { name: string; in: string; description?: string; required?: boolean }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  security?: unknown[];
}
interface Document {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

function Docs({ doc }: { doc: Document }) {
  return html`<h1>${doc.info.title} ${doc.info.version}</h1>
    <p>${doc.info.description}</p>
    <p>
      Machine-readable: <a href="/openapi.json">/openapi.json</a>. The dashboard:
      <a href="/ui">/ui</a>. Send a token as <code>${"Authorization: Bearer <token>"}</code>.
    </p>
    ${Object.entries(doc.paths).map(([path, ops]) =>
      Object.entries(ops).map(
        ([method, op]) => html`<section class="op">
          <h2><span class=${`method m-${method}`}>${method.toUpperCase()}</span> <code>${path}</code></h2>
          <p>${op.summary ?? ""}${op.security ? "" : html` <em data-test="public">(no token)</em>`}</p>
          ${
            op.parameters?.length
              ? html`<ul>
                  ${op.parameters.map(
                    (p) =>
                      html`<li><code>${p.name}</code> (${p.in}${p.required ? ", required" : ""}) ${p.description ?? ""}</li>`,
                  )}
                </ul>`
              : null
          }
          ${
            op.requestBody?.content?.["application/json"]?.schema
              ? html`<details>
                  <summary>body</summary>
                  <pre>${JSON.stringify(op.requestBody.content["application/json"].schema, null, 2)}</pre>
                </details>`
              : null
          }
        </section>`,
      ),
    )}
    <h2>Schemas</h2>
    ${Object.entries(doc.components?.schemas ?? {}).map(
      ([name, s]) => html`<details>
        <summary>${name}</summary>
        <pre>${JSON.stringify(s, null, 2)}</pre>
      </details>`,
    )}`;
}

const root = document.getElementById("docs");
if (root) {
  fetch("/openapi.json")
    .then((r) => r.json() as Promise<Document>)
    .then((doc) => {
      root.textContent = "";
      render(html`<${Docs} doc=${doc} />`, root);
    })
    .catch((e: unknown) => {
      root.textContent = `Could not read /openapi.json: ${String(e)}`;
    });
}
