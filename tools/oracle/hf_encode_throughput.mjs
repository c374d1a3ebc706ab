// Measures the Hugging Face tokenizer's encode throughput (MB/s of UTF-8 input, MB = 10^6 bytes) on
// tests/data/tokenizer/bench_mixed.txt, for each fixture vocabulary. One encode call per run on the whole
// file (a single-sequence encode runs on one thread); 2 warm-up runs, then >= 5 timed runs; prints the
// median as JSON. Figures include the JS <-> Rust string crossing and fetching the ids.
//
// Usage: node hf_encode_throughput.mjs [runs]   (default 7 runs)

import fs from "node:fs";
import tokenizers from "@anush008/tokenizers";
import { dataPath, fixturePath, packageVersion, vocabularies } from "./common.mjs";

// Keep the Rust side single-threaded (only batch encode uses rayon, but be explicit).
process.env.RAYON_NUM_THREADS = "1";
process.env.TOKENIZERS_PARALLELISM = "false";

const { Tokenizer } = tokenizers;
const runs = Math.max(5, Number(process.argv[2] || 7));
const text = fs.readFileSync(dataPath("tokenizer", "bench_mixed.txt"), "utf8");
const bytes = Buffer.byteLength(text, "utf8");

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const results = [];
for (const vocab of vocabularies) {
  const tokenizer = Tokenizer.fromFile(fixturePath(vocab, "tokenizer.json"));
  const encodeOnce = async () => {
    const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
    return encoding.getIds().length;
  };
  let tokens = 0;
  for (let i = 0; i < 2; ++i) tokens = await encodeOnce();
  const rates = [];
  for (let i = 0; i < runs; ++i) {
    const start = process.hrtime.bigint();
    await encodeOnce();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(bytes / 1e6 / seconds);
  }
  results.push({
    vocab,
    input_bytes: bytes,
    tokens,
    runs,
    median_mb_per_s: Number(median(rates).toFixed(2)),
    min_mb_per_s: Number(Math.min(...rates).toFixed(2)),
    max_mb_per_s: Number(Math.max(...rates).toFixed(2)),
  });
}
console.log(JSON.stringify({ oracle: `@anush008/tokenizers ${packageVersion("@anush008/tokenizers")}`, results }, null, 2));
