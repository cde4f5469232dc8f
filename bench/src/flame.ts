/**
 * `node bench/dist/flame.js PROFILE.cpuprofile [OUT.svg] [--top N]`: reads a V8 CPU profile (as
 * `--cpu-prof` writes it), prints the frames with the most self time and the time by package as
 * Markdown tables, and with OUT draws a flame graph of it as an SVG (no dependency: the profile's
 * call tree, siblings of the same function merged, each frame as wide as its time).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A frame of the merged tree: its self and total milliseconds, and its callees by name. */
interface Frame {
  name: string;
  where: string;
  url: string;
  self: number;
  total: number;
  children: Map<string, Frame>;
}

/** Frames that are the VM's, not a function's: idle and the program's own bookkeeping. */
const IDLE = new Set(["(idle)", "(program)"]);

/** Where a frame's code lives: ours (a package of this repository), a dependency, or node. */
export function packageOf(url: string, name: string): string {
  if (name === "(garbage collector)") return "(gc)";
  if (name.startsWith("(")) return name;
  if (url === "") return "(native)";
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1] as string;
  if (url.startsWith("node:")) return "node";
  const own = /packages\/([^/]+)\//.exec(url);
  return own ? `ours: ${own[1]}` : "other";
}

function whereOf(frame: CallFrame): string {
  if (frame.url === "") return "";
  const path = frame.url.replace(/^file:\/\//, "").replace(`${ROOT}/`, "");
  const dependency = path.lastIndexOf("node_modules/");
  const short = dependency >= 0 ? path.slice(dependency + "node_modules/".length) : path;
  return `${short}:${frame.lineNumber + 1}`;
}

/** Each node's self time in ms, from the samples and the time between them. */
function selfTimes(profile: Profile): Map<number, number> {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    // A sample's time is the gap to the next one (the last takes the gap before it).
    const delta = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + delta / 1000);
  });
  return self;
}

/** The call tree with each parent's callees of the same function (and place) merged. */
export function mergedTree(profile: Profile): Frame {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = selfTimes(profile);
  const root: Frame = { name: "all", where: "", url: "", self: 0, total: 0, children: new Map() };
  const walk = (node: ProfileNode, into: Frame) => {
    const { functionName, url } = node.callFrame;
    const name = functionName || "(anonymous)";
    if (IDLE.has(name)) return;
    const where = whereOf(node.callFrame);
    const key = `${name} ${where}`;
    let frame = into.children.get(key);
    if (!frame) {
      frame = { name, where, url, self: 0, total: 0, children: new Map() };
      into.children.set(key, frame);
    }
    frame.self += self.get(node.id) ?? 0;
    for (const child of node.children ?? []) walk(byId.get(child) as ProfileNode, frame);
  };
  const top = profile.nodes[0] as ProfileNode;
  for (const child of top.children ?? []) walk(byId.get(child) as ProfileNode, root);
  const sum = (frame: Frame): number => {
    frame.total = frame.self;
    for (const child of frame.children.values()) frame.total += sum(child);
    return frame.total;
  };
  sum(root);
  return root;
}

function* frames(frame: Frame): Generator<Frame> {
  yield frame;
  for (const child of frame.children.values()) yield* frames(child);
}

/** Self time by function (wherever it was called from) and by package, busiest first. */
export function tables(root: Frame, top: number): string {
  const byFunction = new Map<string, { name: string; where: string; self: number }>();
  const byPackage = new Map<string, number>();
  for (const frame of frames(root)) {
    if (frame === root) continue;
    const key = `${frame.name} ${frame.where}`;
    const row = byFunction.get(key) ?? { name: frame.name, where: frame.where, self: 0 };
    row.self += frame.self;
    byFunction.set(key, row);
    const pkg = packageOf(frame.url, frame.name);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + frame.self);
  }
  // Ours by total time (what they called included), each stack counted once per function.
  const ours = new Map<string, { name: string; where: string; total: number }>();
  const inclusive = (frame: Frame, open: Set<string>) => {
    const key = `${frame.name} ${frame.where}`;
    const counted = open.has(key);
    if (!counted && packageOf(frame.url, frame.name).startsWith("ours")) {
      const row = ours.get(key) ?? { name: frame.name, where: frame.where, total: 0 };
      row.total += frame.total;
      ours.set(key, row);
    }
    if (!counted) open.add(key);
    for (const child of frame.children.values()) inclusive(child, open);
    if (!counted) open.delete(key);
  };
  inclusive(root, new Set());
  const busy = root.total;
  const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1)}%`;
  const lines = [
    `busy (not idle): ${Math.round(busy)} ms`,
    "",
    "| self | share | function | where |",
    "| ---: | ---: | --- | --- |",
    ...[...byFunction.values()]
      .sort((a, b) => b.self - a.self)
      .slice(0, top)
      .map((r) => `| ${Math.round(r.self)} ms | ${pct(r.self)} | \`${r.name}\` | ${r.where} |`),
    "",
    "| total (with callees) | share | our function | where |",
    "| ---: | ---: | --- | --- |",
    ...[...ours.values()]
      .sort((a, b) => b.total - a.total)
      .slice(0, top)
      .map((r) => `| ${Math.round(r.total)} ms | ${pct(r.total)} | \`${r.name}\` | ${r.where} |`),
    "",
    "| package | self | share |",
    "| --- | ---: | ---: |",
    ...[...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([pkg, ms]) => `| ${pkg} | ${Math.round(ms)} ms | ${pct(ms)} |`),
  ];
  return lines.join("\n");
}

const WIDTH = 1200;
const ROW = 16;

const escapeXml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A warm colour for dependencies, green for ours, blue for node's own, grey for the VM. */
function colourOf(frame: Frame): string {
  const pkg = packageOf(frame.url, frame.name);
  const shade = (frame.name.length * 37) % 40;
  if (pkg.startsWith("ours")) return `rgb(${90 + shade},${190 + shade / 2},${90})`;
  if (pkg === "node") return `rgb(${110 + shade},${160 + shade},230)`;
  if (pkg.startsWith("(")) return "rgb(190,190,190)";
  return `rgb(230,${120 + shade * 2},${60 + shade})`;
}

/** The flame graph: callers below their callees, each frame as wide as its total time. */
export function flameSvg(root: Frame, title: string): string {
  let depth = 0;
  const rects: string[] = [];
  const scale = WIDTH / Math.max(root.total, 1);
  const draw = (frame: Frame, x: number, level: number) => {
    const width = frame.total * scale;
    if (width < 0.3) return;
    depth = Math.max(depth, level);
    const label = frame === root ? `all (${Math.round(root.total)} ms)` : frame.name;
    const tip = `${frame.name} ${frame.where}: ${frame.total.toFixed(1)} ms total, ${frame.self.toFixed(1)} ms self (${((100 * frame.total) / root.total).toFixed(1)}%)`;
    const chars = Math.floor((width - 4) / 6.5);
    const text = chars >= 3 ? (label.length > chars ? `${label.slice(0, chars - 1)}…` : label) : "";
    rects.push(
      `<g transform="translate(${x.toFixed(2)},LEVEL${level})"><title>${escapeXml(tip)}</title>` +
        `<rect width="${width.toFixed(2)}" height="${ROW - 1}" fill="${frame === root ? "rgb(200,200,200)" : colourOf(frame)}"/>` +
        (text ? `<text x="3" y="${ROW - 4}">${escapeXml(text)}</text>` : "") +
        "</g>",
    );
    let offset = x;
    const children = [...frame.children.values()].sort((a, b) => a.name.localeCompare(b.name));
    for (const child of children) {
      draw(child, offset, level + 1);
      offset += child.total * scale;
    }
  };
  draw(root, 0, 0);
  const height = (depth + 1) * ROW + 30;
  const body = rects
    .join("\n")
    .replace(/LEVEL(\d+)/g, (_, level) => String(height - (Number(level) + 1) * ROW));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">`,
    `<text x="4" y="16" font-size="13">${escapeXml(title)}</text>`,
    body,
    "</svg>",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf("--top");
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
  const [input, output] = args.filter((_, i) => topAt < 0 || (i !== topAt && i !== topAt + 1));
  if (!input) {
    console.error("usage: node bench/dist/flame.js PROFILE.cpuprofile [OUT.svg] [--top N]");
    process.exit(2);
  }
  const root = mergedTree(JSON.parse(readFileSync(input, "utf8")) as Profile);
  console.log(tables(root, top));
  if (output) {
    writeFileSync(output, flameSvg(root, `${input.split("/").at(-1)}: CPU by call stack`));
  }
}
