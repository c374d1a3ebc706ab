// Encodes texts with the real Hugging Face `tokenizers` (the @anush008/tokenizers Node binding that
// tools/oracle pins) to check the tokenizer trained by tools/train against an independent encoder.
//
// Usage: node tools/train/hf_encode.mjs TOKENIZER_JSON INPUT_JSONL OUTPUT_JSONL
//   INPUT_JSONL: one {"text": ...} per line. OUTPUT_JSONL: one {"ids": [...]} per line, same order
//   (special-token text is parsed into special ids, add_special_tokens=false, like `minimind tokenize`).
// Needs `npm ci` in tools/oracle first.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "oracle", "package.json"));
const { Tokenizer } = require("@anush008/tokenizers");

const [tokenizerJson, inputPath, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error("usage: node hf_encode.mjs TOKENIZER_JSON INPUT_JSONL OUTPUT_JSONL");
  process.exit(2);
}
const tokenizer = Tokenizer.fromString(fs.readFileSync(tokenizerJson, "utf8"));
const lines = fs.readFileSync(inputPath, "utf8").split("\n").filter((l) => l.length > 0);
const out = [];
for (const line of lines) {
  const encoding = await tokenizer.encode(JSON.parse(line).text, null, { addSpecialTokens: false });
  out.push(JSON.stringify({ ids: Array.from(encoding.getIds()) }));
}
fs.writeFileSync(outputPath, out.join("\n") + "\n");
console.log(`encoded ${out.length} texts with HF tokenizers`);
