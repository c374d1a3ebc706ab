// Shared helpers for the oracle scripts: repository paths, the fixtures directory, a seeded PRNG and a
// JSON writer that keeps one array element per line (readable diffs for committed goldens).
//
// Everything here is deterministic: no Math.random, no clocks, no locale-dependent formatting.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

// <repo>/tools/oracle -> <repo>
export const repoRoot = path.resolve(here, "..", "..");

// MiniMind's tokenizer files are never copied into the repo; they are read from the shared fixtures dir:
// $MINIMIND_FIXTURES (a relative value is taken from the working directory), else <repo>/../shared/fixtures.
export const fixturesDir = process.env.MINIMIND_FIXTURES
  ? path.resolve(process.env.MINIMIND_FIXTURES)
  : path.resolve(repoRoot, "..", "shared", "fixtures");

export const vocabularies = ["minimind-3", "minimind2"];

export function fixturePath(vocab, file) {
  const p = path.join(fixturesDir, vocab, file);
  if (!fs.existsSync(p)) {
    throw new Error(`missing fixture ${p} (set MINIMIND_FIXTURES to the fixtures dir)`);
  }
  return p;
}

export function dataPath(...parts) {
  return path.join(repoRoot, "tests", "data", ...parts);
}

export function packageVersion(name) {
  const pj = path.join(here, "node_modules", ...name.split("/"), "package.json");
  return JSON.parse(fs.readFileSync(pj, "utf8")).version;
}

// mulberry32: a tiny 32-bit seeded PRNG. Same seed -> same sequence on every platform.
export function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int(n) {
      return Math.floor(next() * n);
    },
    pick(array) {
      return array[Math.floor(next() * array.length)];
    },
  };
}

export function utf8Length(s) {
  return Buffer.byteLength(s, "utf8");
}

// Writes {header..., [arrayKey]: [...]} with each array element on its own line.
export function writeJsonLines(file, header, arrayKey, items, extra = {}) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lines = ["{"];
  for (const [k, v] of Object.entries(header)) lines.push(`  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  const sections = [[arrayKey, items], ...Object.entries(extra)];
  sections.forEach(([key, array], si) => {
    lines.push(`  ${JSON.stringify(key)}: [`);
    array.forEach((item, i) => lines.push(`    ${JSON.stringify(item)}${i + 1 < array.length ? "," : ""}`));
    lines.push(`  ]${si + 1 < sections.length ? "," : ""}`);
  });
  lines.push("}");
  const text = lines.join("\n") + "\n";
  JSON.parse(text); // self-check: the output must be valid JSON
  fs.writeFileSync(file, text);
  return text.length;
}
