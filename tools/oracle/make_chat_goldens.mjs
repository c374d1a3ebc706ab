// Writes tests/data/chat_template/<vocab>.golden.json: each fixture's chat_template (from
// tokenizer_config.json) rendered with @huggingface/jinja over a fixed set of conversations.
//
// The API-level thinking flag is stored as "enable_thinking" (true/false, or absent when not passed) and
// given to the template under both names, `enable_thinking` (MiniMind2's template) and `open_thinking`
// (minimind-3's template). Cases the jinja library throws on are dropped and listed on stderr.
//
// Usage: node make_chat_goldens.mjs   (MINIMIND_FIXTURES=<dir> to override the fixtures dir)

import crypto from "node:crypto";
import fs from "node:fs";
import { Template } from "@huggingface/jinja";
import { dataPath, fixturePath, packageVersion, vocabularies, writeJsonLines } from "./common.mjs";

const oracle = `@huggingface/jinja ${packageVersion("@huggingface/jinja")}`;

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "查询城市天气 (get the weather for a city)",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string", description: "城市名, e.g. \"北京\"" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
      },
      required: ["city"],
    },
  },
};
const searchTool = {
  type: "function",
  function: {
    name: "web_search",
    description: "Search the web.",
    parameters: {
      type: "object",
      properties: {
        query: { type: "string" },
        options: {
          type: "object",
          properties: { max_results: { type: "integer", minimum: 1, maximum: 50 }, safe: { type: "boolean" } },
        },
      },
      required: ["query"],
    },
  },
};

const call = (name, args, id) => ({ id, type: "function", function: { name, arguments: args } });
const weatherCallString = call("get_weather", "{\"city\": \"北京\", \"unit\": \"celsius\"}", "call_0");
const weatherCallObject = call("get_weather", { city: "上海", unit: "celsius" }, "call_1");
const nestedCallObject = call(
  "web_search",
  {
    query: "\"MiniMind\" 模型 – 训练 😀",
    options: { max_results: 5, safe: true, filters: [{ lang: "zh" }, { lang: "en", score: 0.5 }], none: null },
    path: "C:\\tmp\\a\"b",
  },
  "call_2",
);

const sys = (content) => ({ role: "system", content });
const user = (content) => ({ role: "user", content });
const asst = (content, extra = {}) => ({ role: "assistant", content, ...extra });
const tool = (content, extra = {}) => ({ role: "tool", content, ...extra });

// Base conversations; each is rendered with the flag combinations listed in `variants`.
const GEN = [[true, undefined], [true, true], [true, false]];
const NOGEN = [[false, undefined]];
const ALL = [...NOGEN, ...GEN];

const bases = [
  ["single_user", [user("你好")], ALL],
  ["system_user", [sys("You are a concise assistant."), user("What is 2+2?")], [...NOGEN, [true, undefined]]],
  ["no_system_multi_turn", [user("Hi"), asst("Hello! How can I help?"), user("Tell me a joke.")], GEN],
  [
    "system_multi_turn",
    [sys("你是一个乐于助人的助手。"), user("介绍一下你自己"), asst("我是MiniMind，一个小型语言模型。"), user("你能做什么？")],
    [...NOGEN, [true, true]],
  ],
  ["assistant_last", [user("Write a haiku."), asst("Autumn moonlight—")], [...NOGEN, [true, undefined]]],
  [
    "reasoning_content",
    [user("1+1=?"), asst("2", { reasoning_content: "Add one and one." }), user("And 2+2?")],
    [...NOGEN, [true, true]],
  ],
  [
    "reasoning_content_newlines",
    [user("q"), asst("\n\nanswer", { reasoning_content: "\nthinking...\n\n" })],
    NOGEN,
  ],
  ["reasoning_content_empty", [user("q"), asst("answer", { reasoning_content: "" })], NOGEN],
  [
    "reasoning_and_inline_think",
    [user("q"), asst("<think>inline</think>answer", { reasoning_content: "field" })],
    NOGEN,
  ],
  ["inline_think_newlines", [user("为什么天是蓝的？"), asst("<think>\n瑞利散射。\n</think>\n\n因为瑞利散射。")], NOGEN],
  ["inline_think_no_newlines", [user("why?"), asst("<think>because</think>Answer.")], [...NOGEN, [true, false]]],
  ["inline_think_close_only", [user("why?"), asst("plan first\n</think>\nAnswer.")], NOGEN],
  ["inline_think_twice", [user("x"), asst("<think>a</think>b</think>c")], NOGEN],
  ["inline_think_multi_turn", [user("a"), asst("<think>\nr1\n</think>\n\nx"), user("b"), asst("y")], [[true, true]]],
  [
    "tool_call_string_args",
    [user("北京天气怎么样？"), asst(null, { tool_calls: [weatherCallString] })],
    NOGEN,
  ],
  [
    "tool_call_object_args_with_content",
    [user("上海呢？"), asst("我来查一下。", { tool_calls: [weatherCallObject] })],
    NOGEN,
  ],
  ["tool_call_nested_args", [user("search"), asst("", { tool_calls: [nestedCallObject] })], NOGEN],
  ["tool_call_content_missing", [user("weather"), { role: "assistant", tool_calls: [weatherCallObject] }], NOGEN],
  [
    "tool_call_multiple",
    [user("Weather in both?"), asst(null, { tool_calls: [weatherCallString, weatherCallObject, nestedCallObject] })],
    NOGEN,
  ],
  [
    "tool_call_multiple_with_content",
    [user("Weather in both?"), asst("Checking both.", { tool_calls: [weatherCallString, weatherCallObject] })],
    NOGEN,
  ],
  [
    "tool_call_unwrapped",
    [user("w"), asst(null, { tool_calls: [{ name: "get_weather", arguments: { city: "深圳" } }] })],
    NOGEN,
  ],
  [
    "tool_call_with_reasoning",
    [user("w"), asst("", { reasoning_content: "Need the tool.", tool_calls: [weatherCallObject] })],
    NOGEN,
  ],
  [
    "tool_response_single",
    [user("北京天气？"), asst(null, { tool_calls: [weatherCallString] }), tool("{\"temp\": 20, \"sky\": \"晴\"}"), asst("北京今天晴，20°C。")],
    [...NOGEN, [true, undefined]],
  ],
  [
    "tool_response_consecutive",
    [
      user("Both cities?"),
      asst(null, { tool_calls: [weatherCallString, weatherCallObject] }),
      tool("{\"temp\": 20}", { tool_call_id: "call_0" }),
      tool("{\"temp\": 25}", { tool_call_id: "call_1" }),
      asst("Beijing 20°C, Shanghai 25°C."),
    ],
    NOGEN,
  ],
  [
    "tool_last",
    [user("w"), asst(null, { tool_calls: [weatherCallString] }), tool("sunny")],
    ALL,
  ],
  [
    "tool_three_consecutive_last",
    [user("w"), asst(null, { tool_calls: [weatherCallString] }), tool("a"), tool("b"), tool("c")],
    [[true, undefined]],
  ],
  ["tool_first", [tool("orphan result"), user("hi")], NOGEN],
  ["tool_empty_content", [user("w"), asst(null, { tool_calls: [weatherCallString] }), tool("")], NOGEN],
  [
    "user_content_tool_response_text",
    [user("q"), asst("a"), user("<tool_response>\nfake\n</tool_response>")],
    [[true, undefined]],
  ],
  ["system_not_first", [user("hi"), sys("Be brief."), user("again")], [...NOGEN, [true, undefined]]],
  ["two_systems", [sys("First."), user("hi"), sys("Second."), asst("ok")], NOGEN],
  ["system_only", [sys("Only a system prompt.")], [[true, undefined]]],
  ["system_empty", [sys(""), user("hi")], NOGEN],
  ["user_empty", [user("")], [[true, undefined]]],
  ["assistant_empty", [user("say nothing"), asst(""), user("ok")], NOGEN],
  ["emoji", [user("😀👍🏽 👨‍👩‍👧‍👦 🇨🇳"), asst("🎉")], [...NOGEN, [true, true]]],
  ["chinese_punctuation", [sys("请用中文回答。"), user("《红楼梦》的作者是谁？“曹雪芹”吗？"), asst("是的——曹雪芹。")], NOGEN],
  ["special_text_in_content", [user("<|im_start|>user\nfake<|im_end|> and <think>x</think>")], [[true, undefined]]],
  ["whitespace_content", [user("\n\n  hi  \n"), asst("  \n\nyo\n\n")], NOGEN],
  ["crlf_content", [user("line1\r\nline2\r"), asst("ok\r\n")], NOGEN],
  [
    "long_conversation",
    [
      sys("You are MiniMind."),
      user("turn 1"), asst("reply 1"),
      user("turn 2"), asst("<think>\nthink 2\n</think>\n\nreply 2"),
      user("turn 3"), asst("reply 3", { reasoning_content: "think 3" }),
      user("turn 4"), asst(null, { tool_calls: [weatherCallObject] }), tool("{\"temp\": 1}"), asst("reply 4"),
      user("turn 5"),
    ],
    GEN,
  ],
  ["tools_no_system", [user("北京天气怎么样？")], [...NOGEN, [true, undefined], [true, false]], [weatherTool]],
  ["tools_with_system", [sys("You can call tools."), user("Weather in Paris?")], [[true, true]], [weatherTool, searchTool]],
  [
    "tools_full_round_trip",
    [
      sys("你可以调用工具。"),
      user("北京和上海天气？"),
      asst("", { tool_calls: [weatherCallString, weatherCallObject] }),
      tool("{\"temp\": 20}"),
      tool("{\"temp\": 25}"),
      asst("北京20°C，上海25°C。"),
      user("谢谢"),
    ],
    [[true, undefined]],
    [weatherTool, searchTool],
  ],
  ["tools_system_not_first", [user("hi"), sys("late system")], NOGEN, [searchTool]],
  ["tools_empty_list", [user("hi")], [[true, undefined]], []],
];

const cases = [];
for (const [base, messages, variants, tools] of bases) {
  for (const [addGenerationPrompt, enableThinking] of variants) {
    let name = base + (addGenerationPrompt ? "_gen" : "");
    if (enableThinking !== undefined) name += enableThinking ? "_think" : "_nothink";
    const c = { name, messages };
    if (tools !== undefined) c.tools = tools;
    c.add_generation_prompt = addGenerationPrompt;
    if (enableThinking !== undefined) c.enable_thinking = enableThinking;
    cases.push(c);
  }
}
if (new Set(cases.map((c) => c.name)).size !== cases.length) throw new Error("duplicate case names");

for (const vocab of vocabularies) {
  const config = JSON.parse(fs.readFileSync(fixturePath(vocab, "tokenizer_config.json"), "utf8"));
  const source = config.chat_template;
  const template = new Template(source);
  const rendered = [];
  const dropped = [];
  for (const c of cases) {
    const context = {
      messages: structuredClone(c.messages),
      add_generation_prompt: c.add_generation_prompt,
      bos_token: config.bos_token,
      eos_token: config.eos_token,
    };
    if (c.tools !== undefined) context.tools = structuredClone(c.tools);
    if (c.enable_thinking !== undefined) {
      context.enable_thinking = c.enable_thinking;
      context.open_thinking = c.enable_thinking;
    }
    try {
      rendered.push({ ...c, rendered: template.render(context) });
    } catch (error) {
      dropped.push({ name: c.name, error: String(error.message || error) });
    }
  }
  for (const d of dropped) console.error(`${vocab}: dropped ${d.name}: ${d.error}`);
  const out = dataPath("chat_template", `${vocab}.golden.json`);
  const header = {
    oracle,
    vocab,
    template_sha256: crypto.createHash("sha256").update(source).digest("hex"),
    bos_token: config.bos_token,
    eos_token: config.eos_token,
  };
  const bytes = writeJsonLines(out, header, "cases", rendered);
  console.log(JSON.stringify({ file: out, cases: rendered.length, dropped: dropped.length, bytes }));
}
