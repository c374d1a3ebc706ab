// Writes tests/data/tokenizer/<vocab>.golden.json for each fixture vocabulary, using the real Hugging Face
// Rust tokenizers (npm @anush008/tokenizers) as the oracle.
//
// Per case (joined by name with cases.json; the text is not repeated):
//   ids                   encode(text), special-token text parsed into special ids, add_special_tokens=false
//   decoded               decode(ids, skip_special_tokens=false)
//   decoded_skip_special  decode(ids, skip_special_tokens=true)
// Plus "decode_cases": hand-made id sequences (cut UTF-8 sequences, out-of-order byte tokens, specials
// between broken bytes, an out-of-range id) with HF's decode output, which is lossy UTF-8 (U+FFFD).
//
// The binding has no switch for HF's `encode_special_tokens` (special-token text encoded as plain text), so
// "ids_no_special" is omitted. ORACLE_EMULATE_NO_SPECIAL=1 adds it by an emulation: the tokenizer is loaded
// from tokenizer.json with the special added tokens removed from "added_tokens" (they stay in the model
// vocab). HF's encode_special_tokens skips special matches in the added-token automaton, so this is
// equivalent when no non-special added token can overlap a special one (checked below).
//
// Usage: node make_tokenizer_goldens.mjs   (MINIMIND_FIXTURES=<dir> to override the fixtures dir)

import fs from "node:fs";
import tokenizers from "@anush008/tokenizers";
import { dataPath, fixturePath, packageVersion, vocabularies, writeJsonLines } from "./common.mjs";

const { Tokenizer } = tokenizers;
const oracle = `@anush008/tokenizers ${packageVersion("@anush008/tokenizers")}`;
const emulateNoSpecial = process.env.ORACLE_EMULATE_NO_SPECIAL === "1";

// GPT-2 byte-level alphabet: byte -> the character that stands for it in the vocab.
function byteToChar() {
  const printable = [];
  for (let b = 0x21; b <= 0x7e; ++b) printable.push(b);
  for (let b = 0xa1; b <= 0xac; ++b) printable.push(b);
  for (let b = 0xae; b <= 0xff; ++b) printable.push(b);
  const map = new Map(printable.map((b) => [b, String.fromCodePoint(b)]));
  let next = 256;
  for (let b = 0; b < 256; ++b) if (!map.has(b)) map.set(b, String.fromCodePoint(next++));
  return map;
}
const byteChar = byteToChar();

async function encodeIds(tokenizer, text) {
  const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
  return encoding.getIds();
}

function loadNoSpecialTokenizer(json) {
  const config = JSON.parse(json);
  const specials = config.added_tokens.filter((t) => t.special).map((t) => t.content);
  const others = config.added_tokens.filter((t) => !t.special).map((t) => t.content);
  for (const s of specials) {
    for (const o of others) {
      const overlaps =
        s.includes(o) || o.includes(s) ||
        [...Array(Math.min(s.length, o.length)).keys()].some((k) => k > 0 && s.endsWith(o.slice(0, k)));
      if (overlaps) throw new Error(`emulation not exact: added tokens ${s} and ${o} overlap`);
    }
  }
  config.added_tokens = config.added_tokens.filter((t) => !t.special);
  return Tokenizer.fromString(JSON.stringify(config));
}

async function makeDecodeCases(tokenizer, vocabSize) {
  const tokenId = (token) => {
    const id = tokenizer.tokenToId(token);
    if (id === null || id === undefined) throw new Error(`token ${JSON.stringify(token)} not in vocab`);
    return id;
  };
  const byteIds = (bytes) => bytes.map((b) => tokenId(byteChar.get(b)));
  const [zhong0, zhong1, zhong2] = byteIds([0xe4, 0xb8, 0xad]); // 中 = E4 B8 AD
  const [grin0, grin1, grin2, grin3] = byteIds([0xf0, 0x9f, 0x98, 0x80]); // 😀 = F0 9F 98 80
  const a = tokenId("a");
  const imStart = tokenId("<|im_start|>");
  const imEnd = tokenId("<|im_end|>");
  const endOfText = tokenId("<|endoftext|>");
  const helloWorld = await encodeIds(tokenizer, "你好，世界");
  const sequences = [
    ["empty", []],
    ["zhong_first_byte", [zhong0]],
    ["zhong_first_two_bytes", [zhong0, zhong1]],
    ["zhong_last_byte_only", [zhong2]],
    ["zhong_three_byte_tokens", [zhong0, zhong1, zhong2]],
    ["zhong_bytes_out_of_order", [zhong1, zhong0, zhong2]],
    ["zhong_bytes_reversed", [zhong2, zhong1, zhong0]],
    ["zhong_token_then_first_byte", [...(await encodeIds(tokenizer, "中")), zhong0]],
    ["first_byte_then_ascii", [zhong0, a]],
    ["emoji_cut_after_three_bytes", [grin0, grin1, grin2, a]],
    ["emoji_four_byte_tokens", [grin0, grin1, grin2, grin3]],
    ["emoji_continuation_bytes_only", [grin1, grin2, grin3]],
    ["specials_between_broken_bytes", [imStart, zhong0, zhong1, imEnd, zhong2]],
    ["special_splits_char", [zhong0, imEnd, zhong1, zhong2]],
    ["lone_0xff", byteIds([0xff])],
    ["overlong_c0_80", byteIds([0xc0, 0x80])],
    ["surrogate_ed_a0_80", byteIds([0xed, 0xa0, 0x80])],
    ["above_max_f4_90_80_80", byteIds([0xf4, 0x90, 0x80, 0x80])],
    ["nul_byte", byteIds([0x00])],
    ["space_and_newline_bytes", byteIds([0x20, 0x0a, 0x20, 0x0d, 0x0a])],
    ["tokens_reversed", [...helloWorld].reverse()],
    ["all_specials_in_a_row", [endOfText, imStart, imEnd, imStart]],
    ["chat_turn", [imStart, ...(await encodeIds(tokenizer, "user\n你好")), imEnd, ...(await encodeIds(tokenizer, "\n"))]],
    ["out_of_range_id", [a, vocabSize, vocabSize + 1000, a]],
  ];
  if (tokenizer.tokenToId("<think>") !== null) {
    const think = tokenId("<think>");
    const thinkEnd = tokenId("</think>");
    sequences.push(["non_special_added_tokens", [imStart, think, a, thinkEnd, imEnd]]);
    sequences.push(["non_special_splits_char", [zhong0, think, zhong1, zhong2]]);
  }
  const cases = [];
  for (const [name, ids] of sequences) {
    cases.push({
      name,
      ids,
      decoded: await tokenizer.decode(ids, false),
      decoded_skip_special: await tokenizer.decode(ids, true),
    });
  }
  return cases;
}

const corpus = JSON.parse(fs.readFileSync(dataPath("tokenizer", "cases.json"), "utf8")).cases;

for (const vocab of vocabularies) {
  const json = fs.readFileSync(fixturePath(vocab, "tokenizer.json"), "utf8");
  const tokenizer = Tokenizer.fromString(json);
  const noSpecial = emulateNoSpecial ? loadNoSpecialTokenizer(json) : null;
  const vocabSize = tokenizer.getVocabSize(true);
  const cases = [];
  let tokens = 0;
  for (const { name, text } of corpus) {
    const ids = await encodeIds(tokenizer, text);
    tokens += ids.length;
    const entry = { name, ids };
    if (noSpecial) entry.ids_no_special = await encodeIds(noSpecial, text);
    entry.decoded = await tokenizer.decode(ids, false);
    entry.decoded_skip_special = await tokenizer.decode(ids, true);
    cases.push(entry);
  }
  const header = { oracle, vocab, vocab_size: vocabSize };
  if (noSpecial) {
    header.ids_no_special_method = "emulated: special entries removed from added_tokens (ORACLE_EMULATE_NO_SPECIAL=1)";
  }
  const out = dataPath("tokenizer", `${vocab}.golden.json`);
  const bytes = writeJsonLines(out, header, "cases", cases, {
    decode_cases: await makeDecodeCases(tokenizer, vocabSize),
  });
  console.log(JSON.stringify({ file: out, cases: cases.length, tokens, bytes }));
}
