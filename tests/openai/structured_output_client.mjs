// Structured output through the official `openai` npm client, checked by validators nobody here
// wrote: ajv (+ ajv-formats) for JSON Schema, JavaScript's RegExp for regex (and a flat grammar).
//   node structured_output_client.mjs BASE_URL API_KEY chat|completions DOCS_PER_SCHEMA MAX_TOKENS
// chat: /v1/chat/completions (response_format json_schema and json_object, unary and streaming,
// regex, choice and grammar extensions); completions: /v1/completions with a prompt (a model without a
// chat template). Prints one JSON line: counts and every failure.
import OpenAI from "openai";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const [baseURL, apiKey, mode, perSchemaText, maxTokensText] = process.argv.slice(2);
const maxTokens = Number(maxTokensText);
const perSchema = Number(perSchemaText);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);

const S = (properties, required, extra = {}) =>
  ({ type: "object", properties, required, additionalProperties: false, ...extra });
const schemas = [
  S({ name: { type: "string", maxLength: 40 }, age: { type: "integer" } }, ["name", "age"]),
  S({ ok: { type: "boolean" } }, ["ok"]),
  S({ score: { type: "number" }, label: { enum: ["low", "mid", "high"] } }, ["score", "label"]),
  S({ tags: { type: "array", items: { type: "string", maxLength: 12 }, minItems: 1, maxItems: 3 } },
    ["tags"]),
  S({ id: { type: "string", format: "uuid" } }, ["id"]),
  S({ day: { type: "string", format: "date" }, at: { type: "string", format: "date-time" } },
    ["day", "at"]),
  S({ email: { type: "string", format: "email" } }, ["email"]),
  S({ ip: { type: "string", format: "ipv4" }, port: { type: "integer" } }, ["ip"]),
  S({ code: { type: "string", pattern: "^[A-Z]{3}-[0-9]{2,4}$" } }, ["code"]),
  S({ a: { type: "string", minLength: 2, maxLength: 5 }, b: { type: ["integer", "null"] } },
    ["a", "b"]),
  S({ nested: S({ x: { type: "integer" }, y: { type: "integer" } }, ["x", "y"]) }, ["nested"]),
  S({ items: { type: "array", maxItems: 4,
               items: S({ sku: { type: "string", maxLength: 8 }, qty: { type: "integer" } },
                        ["sku", "qty"]) } }, ["items"]),
  S({ kind: { const: "point" }, coords: { type: "array", items: { type: "number" },
                                           minItems: 2, maxItems: 2 } }, ["kind", "coords"]),
  S({ v: { anyOf: [{ type: "integer" }, { type: "string", maxLength: 6 }, { type: "null" }] } },
    ["v"]),
  S({ opt1: { type: "integer" }, opt2: { type: "boolean" }, req: { type: "string", maxLength: 9 } },
    ["req"]),
  S({ status: { enum: ["ok", "error", 404, null] } }, ["status"]),
  { $defs: { node: S({ v: { type: "integer" },
                       kids: { type: "array", maxItems: 2, items: { $ref: "#/$defs/node" } } },
                     ["v", "kids"]) },
    $ref: "#/$defs/node" },
  S({ title: { type: "string", maxLength: 30 },
      meta: S({ views: { type: "integer" }, likes: { type: "integer" } }, []) }, ["title", "meta"]),
  { type: "array", items: { type: "integer" }, maxItems: 5 },
  { type: "string", maxLength: 20 },
  { enum: ["red", "green", "blue"] },
  S({ answer: { type: "string", maxLength: 60 }, confidence: { type: "number" },
      sources: { type: "array", items: { type: "string", format: "uuid" }, maxItems: 2 } },
    ["answer", "confidence", "sources"]),
];

const out = { mode, schemas: schemas.length, documents: 0, valid: 0, complete: 0,
              streamed: 0, failures: [] };
const prompt = "Answer in JSON about a cat named Tom.";

async function generate(params, stream) {
  if (mode === "completions") {
    const body = { model: "m", prompt, max_tokens: maxTokens, ...params };
    if (!stream) {
      const r = await client.completions.create(body);
      return { text: r.choices[0].text, finish: r.choices[0].finish_reason };
    }
    let text = "", finish = null;
    for await (const chunk of await client.completions.create({ ...body, stream: true })) {
      if (chunk.choices.length > 0) {
        text += chunk.choices[0].text ?? "";
        finish = chunk.choices[0].finish_reason ?? finish;
      }
    }
    return { text, finish };
  }
  const body = { model: "m", messages: [{ role: "user", content: prompt }], max_tokens: maxTokens,
                 ...params };
  if (!stream) {
    const r = await client.chat.completions.create(body);
    return { text: r.choices[0].message.content, finish: r.choices[0].finish_reason };
  }
  let text = "", finish = null;
  for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) {
    if (chunk.choices.length > 0) {
      text += chunk.choices[0].delta.content ?? "";
      finish = chunk.choices[0].finish_reason ?? finish;
    }
  }
  return { text, finish };
}

let seed = 1;
for (let s = 0; s < schemas.length; ++s) {
  const validate = ajv.compile(schemas[s]);
  for (let i = 0; i < perSchema; ++i, ++seed) {
    const stream = i % 2 === 1;
    const { text, finish } = await generate({
      seed, temperature: 1.0,
      response_format: { type: "json_schema",
                         json_schema: { name: `s${s}`, schema: schemas[s], strict: true } },
    }, stream);
    out.documents += 1;
    if (stream) out.streamed += 1;
    if (finish !== "stop") {
      out.failures.push({ schema: s, seed, finish, text: text.slice(0, 200) });
      continue;
    }
    out.complete += 1;
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      out.failures.push({ schema: s, seed, error: "not JSON", text: text.slice(0, 300) });
      continue;
    }
    if (validate(doc)) {
      out.valid += 1;
    } else {
      out.failures.push({ schema: s, seed, errors: validate.errors, text: text.slice(0, 300) });
    }
  }
}

// json_object: any object, so the model decides when it ends; a reply cut at max_tokens
// ("length") is counted apart, every complete one must parse as an object.
out.json_object = 0;
out.json_object_length = 0;
for (let i = 0; i < perSchema; ++i, ++seed) {
  const { text, finish } = await generate({ seed, response_format: { type: "json_object" } },
                                          i % 2 === 1);
  if (finish === "length") {
    out.json_object_length += 1;
    continue;
  }
  let doc = null;
  try { doc = JSON.parse(text); } catch (e) {}
  if (finish === "stop" && doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
    out.json_object += 1;
  } else {
    out.failures.push({ json_object: true, seed, finish, text });
  }
}
const regexes = ["[0-9]{4}-[0-9]{2}-[0-9]{2}", "(yes|no|maybe), because [a-z ]{3,20}\\.",
                 "[A-Z][a-z]{2,9}( [A-Z][a-z]{2,9}){0,2}", "#[0-9a-f]{6}"];
out.regex = 0;
for (const pattern of regexes) {
  const re = new RegExp(`^(?:${pattern})$`, "u");
  for (let i = 0; i < perSchema; ++i, ++seed) {
    const { text, finish } = await generate({ seed, regex: pattern }, i % 2 === 1);
    if (finish === "stop" && re.test(text)) out.regex += 1;
    else out.failures.push({ regex: pattern, seed, finish, text });
  }
}
const choices = ["positive", "negative", "neutral", "it depends"];
out.choice = 0;
for (let i = 0; i < perSchema; ++i, ++seed) {
  const { text, finish } = await generate({ seed, choice: choices }, i % 2 === 1);
  if (finish === "stop" && choices.includes(text)) out.choice += 1;
  else out.failures.push({ choice: true, seed, finish, text });
}
out.regexes = regexes.length;

// EBNF grammars (the `grammar` extension, llama.cpp's GBNF syntax): a flat one checked by RegExp,
// and a recursive one (arithmetic with nested parentheses) checked by a recursive-descent
// recognizer written below for this test. A reply cut at max_tokens is counted apart.
const grammars = [
  { grammar: 'root ::= item ("\\n" item){0,2}\nitem ::= "- " [a-z]{1,12}',
    valid: (text) => /^- [a-z]{1,12}(?:\n- [a-z]{1,12}){0,2}$/u.test(text) },
  { grammar: 'root ::= expr\nexpr ::= term (("+" | "-") term){0,3}\n' +
             'term ::= factor ("*" factor){0,2}\nfactor ::= [0-9]{1,3} | "(" expr ")"',
    valid: (text) => {
      let at = 0;
      const factor = () => {
        if (text[at] === "(") {
          ++at;
          if (!expr() || text[at] !== ")") return false;
          ++at;
          return true;
        }
        const digits = /^[0-9]{1,3}/.exec(text.slice(at));
        if (digits === null) return false;
        at += digits[0].length;
        return !/[0-9]/.test(text[at] ?? "");
      };
      const term = () => {
        if (!factor()) return false;
        for (let n = 0; n < 2 && text[at] === "*"; ++n) {
          ++at;
          if (!factor()) return false;
        }
        return true;
      };
      const expr = () => {
        if (!term()) return false;
        for (let n = 0; n < 3 && (text[at] === "+" || text[at] === "-"); ++n) {
          ++at;
          if (!term()) return false;
        }
        return true;
      };
      return expr() && at === text.length;
    } },
];
out.grammar = 0;
out.grammar_length = 0;
for (const { grammar, valid } of grammars) {
  for (let i = 0; i < perSchema; ++i, ++seed) {
    const { text, finish } = await generate({ seed, grammar }, i % 2 === 1);
    if (finish === "length") out.grammar_length += 1;
    else if (finish === "stop" && valid(text)) out.grammar += 1;
    else out.failures.push({ grammar, seed, finish, text });
  }
}
out.grammars = grammars.length;

// Bad input: an unsupported keyword is a 400 naming it, never ignored.
try {
  await generate({ response_format: { type: "json_schema", json_schema: {
    name: "bad", schema: { type: "integer", minimum: 3 } } } }, false);
  out.bad_input = "accepted";
} catch (e) {
  out.bad_input = { status: e.status, message: e.message };
}
console.log(JSON.stringify(out));
