// Generates tests/data/tokenizer/bench_mixed.txt: ~256 KB of mixed Chinese/English prose with some code,
// built deterministically (seeded PRNG, fixed word lists). The tokenizer throughput benchmarks (HF's in
// hf_encode_throughput.mjs and the project's own) read this file so their figures are comparable.
//
// Usage: node make_bench_text.mjs

import fs from "node:fs";
import { dataPath, makeRng, utf8Length } from "./common.mjs";

const kTargetBytes = 256 * 1024;

const zhWords = [
  "模型", "训练", "数据", "语言", "我们", "可以", "通过", "一个", "这个", "问题", "方法", "系统", "推理", "生成",
  "文本", "注意力", "参数", "计算", "内存", "速度", "用户", "服务器", "请求", "缓存", "分词器", "结果", "时间",
  "重要", "简单", "快速", "高效", "稳定", "今天", "明天", "学习", "知识", "世界", "中国", "城市", "天气", "朋友",
  "工作", "研究", "实验", "性能", "测试", "代码", "程序", "网络", "信息", "技术", "发展", "社会", "经济", "文化",
];
const zhPunct = ["，", "，", "，", "。", "。", "、", "；", "：", "！", "？"];
const enWords = [
  "the", "model", "is", "a", "of", "and", "to", "in", "that", "we", "can", "train", "small", "language",
  "tokenizer", "with", "on", "for", "it's", "don't", "server", "request", "cache", "latency", "throughput",
  "batch", "attention", "layer", "weights", "memory", "fast", "simple", "data", "text", "token", "stream",
  "MiniMind", "GPU", "CPU", "Transformer", "BPE", "you're", "we've", "quickly", "between", "through",
];
const numbers = ["2024", "3.14", "1,024", "100%", "42", "0.001", "6400", "512", "2", "16"];
const codeSnippets = [
  "def forward(self, x):\n    h = self.embed(x)\n    for layer in self.layers:\n        h = layer(h)\n    return self.norm(h)\n",
  "for (int i = 0; i < n; ++i) {\n  out[i] = in[i] * scale + bias[i];\n}\n",
  "{\"model\": \"minimind\", \"max_tokens\": 256, \"temperature\": 0.7, \"stream\": true}\n",
  "curl -s http://127.0.0.1:8080/health | jq .status\n",
  "std::vector<int32_t> ids = tokenizer.Encode(\"你好，世界\");\n",
];

const rng = makeRng(0x42454e43); // "BENC"

function zhSentence() {
  let s = "";
  const n = 4 + rng.int(10);
  for (let i = 0; i < n; ++i) {
    s += rng.pick(zhWords);
    if (rng.next() < 0.1) s += rng.pick(numbers);
    if (rng.next() < 0.08) s += rng.pick(enWords);
    if (i + 1 < n && rng.next() < 0.2) s += rng.pick(zhPunct.slice(0, 3));
  }
  return s + rng.pick(["。", "。", "！", "？"]);
}

function enSentence() {
  const n = 6 + rng.int(14);
  const words = [];
  for (let i = 0; i < n; ++i) words.push(rng.next() < 0.07 ? rng.pick(numbers) : rng.pick(enWords));
  let s = words.join(" ");
  s = s[0].toUpperCase() + s.slice(1);
  return s + rng.pick([".", ".", ".", "!", "?"]);
}

let text = "";
while (utf8Length(text) < kTargetBytes) {
  const r = rng.next();
  let paragraph;
  if (r < 0.08) {
    paragraph = rng.pick(codeSnippets);
  } else {
    const n = 2 + rng.int(5);
    const parts = [];
    for (let i = 0; i < n; ++i) parts.push(rng.next() < 0.55 ? zhSentence() : enSentence());
    paragraph = parts.join(rng.next() < 0.5 ? " " : "");
  }
  text += paragraph + "\n\n";
}

const out = dataPath("tokenizer", "bench_mixed.txt");
fs.writeFileSync(out, text);
console.log(JSON.stringify({ file: out, bytes: utf8Length(text), chars: text.length }));
