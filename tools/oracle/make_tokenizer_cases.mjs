// Generates the tokenizer test corpus tests/data/tokenizer/cases.json.
//
// Deterministic: hand-written strings per class, then seeded-PRNG compositions of them (mixes and a few
// long 5–20 KB inputs). Invisible and control characters are written as \u escapes so the source stays
// readable. No lone surrogates: they cannot round-trip through UTF-8 (see README.md).
//
// Usage: node make_tokenizer_cases.mjs

import { dataPath, makeRng, utf8Length, writeJsonLines } from "./common.mjs";

// Each group: [name prefix, [strings...]]. Names become `${prefix}_${index}`.
const groups = [];
const group = (prefix, strings) => groups.push([prefix, strings]);

group("empty", [""]);

group("char", [
  "a", "Z", "0", "9", " ", "\t", "\n", "\r", "\v", "\f", "中", "國", "。", "，", "！", "？", "、", "é", "e\u0301",
  "ß", "Ω", "я", "あ", "ア", "한", "ا", "ע", "क", "ก", "١", "５", "²", "Ⅻ", "〇", "'", "\"", "<", ">", "|", "\\",
  "~", "`", "$", "€", "¥", "😀", "👍🏽", "🇨🇳", "❤️", "\u00a0", "\u3000", "\u200b", "\u200d", "\ufeff", "\ufffd",
  "\u0000", "\u001b", "\u007f", "\u0085", "\u2028", "\u2029", "\u1680", "\u202f", "\ue000", "\uffff", "𠀀", "𝔸",
  "\u{10ffff}",
]);

group("zh_simplified", [
  "你好，世界！",
  "今天天气很好，我们去公园散步吧。",
  "人工智能（AI）正在改变我们的生活方式。",
  "他说：“这本书非常有意思，你一定要读一读。”",
  "《红楼梦》是中国古典四大名著之一。",
  "请问：您需要咖啡、茶，还是果汁？",
  "这个问题……我还需要再想一想——明天给你答复。",
  "【通知】明天上午九点在三楼会议室开会；请准时参加！",
  "北京、上海、广州、深圳是中国的一线城市。",
  "机器学习模型需要大量的数据进行训练，数据的质量直接影响模型的效果。",
  "‘单引号’与“双引号”都是中文标点。",
  "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。",
  "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
  "我爱北京天安门",
  "中华人民共和国成立于一九四九年十月一日。",
  "请把文件发送到我的邮箱：zhangsan@example.com，谢谢！",
  "小明的身高是一米七五，体重六十五公斤。",
  "学而时习之，不亦说乎？有朋自远方来，不亦乐乎？",
  "Transformer模型的核心是自注意力机制（Self-Attention）。",
  "你吃饭了吗?我刚吃完。", // ASCII question mark inside Chinese
  "　　第一章　开端", // ideographic-space indentation as in Chinese prose
  "·", "——", "……", "「引號」與『書名』",
]);

group("zh_traditional", [
  "歡迎來到臺灣！",
  "這是一個繁體中文的句子，用來測試分詞器。",
  "電腦、網際網路與軟體開發。",
  "他說：「我們明天見。」",
  "《論語》：「學而時習之，不亦說乎？」",
  "香港的夜景非常漂亮，維多利亞港兩岸燈火通明。",
  "請問這個多少錢？——一百二十元。",
  "語言模型會根據上下文預測下一個詞。",
  "龍、鳳、龜、麟，合稱四靈。",
  "國際標準化組織（ISO）制定了許多標準。",
  "憂鬱的臺灣烏龜",
  "醫學、藝術與經濟學。",
]);

group("en", [
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "It was the best of times, it was the worst of times.",
  "Large language models predict the next token given the previous ones.",
  "Mr. Smith went to Washington, D.C., on Jan. 5th.",
  "\"Quoted text,\" she said, \"is tricky.\"",
  "Hyphenated-words and snake_case and camelCase and PascalCase.",
  "e-mail: john.doe+test@example.org; web: https://example.com/path?q=1&r=two#frag",
  "ALL CAPS SENTENCE WITH SHOUTING!!!",
  "Wait... what?! Really?!?",
  "A man, a plan, a canal: Panama.",
  "Semicolons; colons: dashes — and en–dashes.",
  "The year 2024 had 366 days.",
  "Supercalifragilisticexpialidocious",
  "pneumonoultramicroscopicsilicovolcanoconiosis",
  "I",
  "a b c d e f g",
  "(parenthesized) [bracketed] {braced} <angled>",
  "naïve café résumé coöperate façade",
  "Tokenization splits text into pieces; BPE merges frequent pairs.",
]);

group("contraction", [
  "it's", "don't", "you're", "we've", "I'm", "they'll", "she'd",
  "IT'S", "DON'T", "YOU'RE", "WE'VE", "I'M", "THEY'LL", "SHE'D",
  "It'S mixed", "can't won't shouldn't", "'s 't 're 've 'm 'll 'd", "'S 'T 'RE 'VE 'M 'LL 'D",
  "rock 'n' roll", "the '90s", "'quoted'", "o'clock", "y'all'd've",
  "it’s curly", // U+2019, not an ASCII apostrophe
  "''", "'", " 's",
]);

group("number", [
  "0", "42", "3.14159", "1,234.56", "1 234 567", "-17", "+86", "1e-9", "6.02e23", "0x1F", "0b1010", "007",
  "12345678901234567890123456789012345678901234567890",
  "3.141592653589793238462643383279502884197169399375105820974944",
  "2024-01-15", "12:30:45", "v1.2.3", "50%", "$19.99", "¥100", "€5,00",
  "一二三四五六七八九十", "一百二十三", "〇一二", "壹贰叁肆伍陆柒捌玖拾", "２０２４年１２月３１日",
  "０１２３４５６７８９", "①②③", "Ⅰ Ⅱ Ⅲ Ⅳ", "x² + y³ = z¹", "½ ¼ ¾", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९",
  "第3章第12节", "共1,000,000元", "100km/h", "3×4=12", "10÷2=5",
]);

group("ws", [
  " ", "  ", "   ", "        ", "\t", "\t\t", " \t ", "\n", "\n\n", "\n\n\n", "\n\n\n\n\n",
  "  \n  ", " \n", "\n ", "a  b", "a   b", "a\tb", "a \tb", "a\t b", "trailing ", "trailing   ",
  " leading", "   leading", " both ", "a\n\nb", "a\n \nb", "a \n b", "line1\nline2\n", "\n\nstart",
  "end\n\n", "  indented\n    more\n  back", "tab\tseparated\tvalues\n1\t2\t3", "a\u00a0b", "a\u3000b",
  "a\u200bb", "a\u2009b", "a\u202fb", "\u00a0\u00a0", "\u3000\u3000", " \u3000 ", "\v\f", "a\u2028b",
  "a\u2029b", "a\u0085b", "\u2002\u2003\u2004", "x \n\n y", "   \n\n   ", "\t\n\t\n",
]);

group("crlf", [
  "\r\n", "\r\n\r\n", "a\r\nb", "line1\r\nline2\r\n", "a\rb", "\r", "\r\r", "a\r", "\ra", "mixed\n\r\n\r end",
  "  \r\n  ", "\n\r", "x\r\n\r\ny", "def f():\r\n    return 1\r\n", "中文\r\n换行", "\r\n \r\n",
]);

group("emoji", [
  "😀", "😀😃😄", "Hello 👋 world 🌍", "👍🏻👍🏼👍🏽👍🏾👍🏿", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🏴‍☠️",
  "🇺🇸🇨🇳🇯🇵🇩🇪", "🇺", "❤️", "❤", "☺️ ☺", "1️⃣ #️⃣ *️⃣", "🫠🥹🫶", "🧑‍🤝‍🧑", "你好😊世界",
  "🎉🎉🎉 done!", "emoji at end 🚀", "🔥🔥", "👁️‍🗨️", "\u200d", "🙅‍♀️🙆‍♂️",
]);

group("special_text", [
  "<|im_start|>user\nhi<|im_end|>",
  "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n",
  "<|endoftext|>",
  "text<|endoftext|>more",
  "<|endoftext|><|endoftext|>",
  "<|im_start|><|im_end|>",
  "<|im_end|><|im_start|>",
  "<|im_start|>",
  "<|im_end|>",
  "<|im_start",
  "<|im_end|",
  "im_start|>",
  "<|im_start |>",
  "<|IM_START|>",
  "<<|im_start|>>",
  "<|im_start|im_end|>",
  "<think>",
  "</think>",
  "<think>\nreasoning here\n</think>\n\nanswer",
  "<think></think>",
  "<tool_call>",
  "</tool_call>",
  "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"北京\"}}\n</tool_call>",
  "<tool_response>\n{\"temp\": 20}\n</tool_response>",
  "<tools></tools>",
  " <|im_start|> spaced ",
  "\n<|im_end|>\n",
  "<|object_ref_start|>obj<|object_ref_end|>",
  "<|box_start|>(1,2)<|box_end|>",
  "<|vision_start|><|image_pad|><|image_pad|><|vision_end|>",
  "<tts_pad><tts_text_bos>hi<tts_text_eod>",
  "<tts_text_bos_single>",
  "<|audio_start|><|audio_pad|><|audio_end|>",
  "<|video_pad|>",
  "<|quad_start|><|quad_end|>",
  "<|im_start|>assistant\n<think>\n\n</think>\n\n",
  "<|",
  "|>",
  "<||>",
  "<think >",
  "<Think>",
  "<|buffer1|>x<|buffer9|>",
  "<tool_response></tool_response><tool_call></tool_call>",
]);

group("code_py", [
  "def add(a, b):\n    return a + b\n",
  "import os\nimport sys\n\nif __name__ == \"__main__\":\n    sys.exit(main())\n",
  "class Foo:\n    def __init__(self, x: int) -> None:\n        self.x = x\n\n    def __repr__(self):\n        return f\"Foo({self.x!r})\"\n",
  "for i in range(10):\n\tif i % 2 == 0:\n\t\tprint(i)\n",
  "x = [i**2 for i in range(100) if i % 3]  # squares\n",
  "@decorator\nasync def fetch(url):\n    async with session.get(url) as r:\n        return await r.json()\n",
  "s = '''multi\nline'''\nb = b'\\x00\\xff'\n",
  "print(\"你好，世界\")  # 中文注释\n",
]);

group("code_cpp", [
  "#include <iostream>\n\nint main() {\n  std::cout << \"Hello\\n\";\n  return 0;\n}\n",
  "template <typename T>\nT Max(T a, T b) { return a > b ? a : b; }\n",
  "absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const;\n",
  "for (int i = 0; i < n; ++i) {\n    sum += a[i] * b[i];\n}\n",
  "namespace minimind {\n// [seq_len, hidden]\nstd::vector<float> activations_;\n}  // namespace minimind\n",
  "auto lambda = [&](const auto& x) -> bool { return x != nullptr && *x >= 0; };\n",
  "#define MAX(a, b) ((a) > (b) ? (a) : (b))\n",
]);

group("code_json", [
  "{\"name\": \"minimind\", \"version\": 3, \"layers\": [1, 2, 3], \"ok\": true, \"none\": null}",
  "{\n  \"key\": \"value\",\n  \"nested\": {\n    \"array\": [1.5, -2e10, \"三\"]\n  }\n}",
  "[{\"a\":1},{\"b\":\"\\u4e2d\\n\"}]",
  "{\"emoji\": \"😀\", \"quote\": \"\\\"\", \"backslash\": \"\\\\\"}",
]);

group("code_sh", [
  "#!/usr/bin/env bash\nset -euo pipefail\n\nfor f in *.txt; do\n  echo \"$f\"\ndone\n",
  "cd /tmp && ls -la | grep -v '^d' | awk '{print $9}'",
  "export PATH=\"$HOME/.local/bin:$PATH\"\n",
  "if [[ -z \"${VAR:-}\" ]]; then echo 'unset' >&2; exit 1; fi",
  "cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2",
]);

group("code_other", [
  "# Title\n\n- item 1\n- item 2\n\n```python\nprint(1)\n```\n",
  "<div class=\"a\"><p>Hello &amp; <b>world</b></p></div>",
  "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
  "^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@\\w+\\.com$",
  "fn main() {\n    println!(\"{}\", 1 + 1);\n}\n",
  "| a | b |\n|---|---|\n| 1 | 2 |\n",
  "$$\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$$",
  "path\\to\\file.txt C:\\Windows\\System32",
]);

group("script", [
  "こんにちは、世界。", "カタカナとひらがなと漢字。", "東京は日本の首都です。",
  "안녕하세요, 세계!", "한국어 문장입니다.",
  "مرحبا بالعالم", "العربية: ١٢٣ and 123",
  "नमस्ते दुनिया", "हिन्दी में लिखा गया वाक्य।",
  "Привет, мир!", "Съешь же ещё этих мягких французских булок.",
  "Γειά σου Κόσμε", "αβγδε ΑΒΓΔΕ",
  "สวัสดีชาวโลก", "שלום עולם", "Xin chào thế giới", "Tiếng Việt có dấu: ầ ẩ ẫ ấ ậ",
  "a\u0300\u0301\u0302\u0303", "Z\u0351\u0352\u0353\u0354\u0355", "\u0915\u094d\u0937", "ñ vs n\u0303",
  "English中文日本語한국어", "abc中def", "中a文b", "Γreek and Latin", "ﬁ ligature ﬀ", "ＡＢＣ ａｂｃ",
  "𝓗𝓮𝓵𝓵𝓸", "𠀀𠀁𠀂", "ᠮᠣᠩᠭᠣᠯ", "ዓለም", "ᚠᚢᚦ",
]);

group("control", [
  "a\u0000b", "\u0000", "\u0001\u0002\u0003", "esc\u001b[31mred\u001b[0m", "bell\u0007", "del\u007f",
  "back\bspace", "form\ffeed", "\u0080\u0081\u009f", "bom\ufeffinside", "\ufeffstart", "rtl\u200fmark\u200e",
  "soft\u00adhyphen", "word\u2060joiner",
]);

// Fragments for the seeded compositions below.
const all = groups.flatMap(([, strings]) => strings).filter((s) => s.length > 0);
const prose = groups
  .filter(([p]) => ["zh_simplified", "zh_traditional", "en", "script", "contraction", "number"].includes(p))
  .flatMap(([, s]) => s);
const code = groups.filter(([p]) => p.startsWith("code_")).flatMap(([, s]) => s);
const emoji = groups.find(([p]) => p === "emoji")[1];
const specials = groups.find(([p]) => p === "special_text")[1];
const separators = ["", " ", "  ", "\n", "\n\n", "\t", "\r\n", "\u3000", "，", ". ", " \n "];

const rng = makeRng(0x4d4d3033); // "MM03"

const mixes = [];
for (let i = 0; i < 40; ++i) {
  const n = 2 + rng.int(4);
  let s = "";
  for (let j = 0; j < n; ++j) s += (j ? rng.pick(separators) : "") + rng.pick(all);
  mixes.push(s);
}
group("mix", mixes);

// Long inputs: paragraphs of prose with code blocks, emoji and special-token text sprinkled in.
function longText(targetBytes, codeWeight, specialWeight) {
  let s = "";
  while (utf8Length(s) < targetBytes) {
    const r = rng.next();
    let piece;
    if (r < codeWeight) piece = "\n\n" + rng.pick(code) + "\n";
    else if (r < codeWeight + specialWeight) piece = rng.pick(specials);
    else if (r < codeWeight + specialWeight + 0.05) piece = rng.pick(emoji);
    else piece = rng.pick(prose);
    s += piece + rng.pick(separators);
  }
  return s;
}
group("long", [
  longText(5 * 1024, 0.1, 0.02),
  longText(8 * 1024, 0.0, 0.0),
  longText(12 * 1024, 0.3, 0.05),
  longText(20 * 1024, 0.15, 0.03),
]);

const cases = [];
for (const [prefix, strings] of groups) {
  strings.forEach((text, i) => cases.push({ name: `${prefix}_${String(i).padStart(2, "0")}`, text }));
}
const names = new Set(cases.map((c) => c.name));
if (names.size !== cases.length) throw new Error("duplicate case names");
for (const c of cases) {
  if (/[\ud800-\udfff]/u.test(c.text)) throw new Error(`lone surrogate in ${c.name}`);
}

const out = dataPath("tokenizer", "cases.json");
const bytes = writeJsonLines(
  out,
  { generator: "tools/oracle/make_tokenizer_cases.mjs", count: cases.length },
  "cases",
  cases,
);
console.log(JSON.stringify({ file: out, cases: cases.length, bytes }));
