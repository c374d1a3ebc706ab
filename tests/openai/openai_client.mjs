// The official `openai` npm client (nobody here wrote it) against minimind-server's HTTP API:
//   node openai_client.mjs BASE_URL API_KEY
// Prints one JSON line of observations for openai_test.py to check.
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const out = {};

const models = await client.models.list();
out.models = models.data.map((m) => m.id);

const chat = await client.chat.completions.create({
  model: out.models[0],
  messages: [{ role: "user", content: "Tell me something about the sea." }],
  max_tokens: 12, seed: 1, temperature: 0,
});
out.unary = { text: chat.choices[0].message.content, finish: chat.choices[0].finish_reason,
              usage: chat.usage };

const stream = await client.chat.completions.create({
  model: out.models[0],
  messages: [{ role: "user", content: "Tell me something about the sea." }],
  max_tokens: 12, seed: 1, temperature: 0, stream: true, stream_options: { include_usage: true },
});
let text = "", chunks = 0, finish = null, usage = null;
for await (const chunk of stream) {
  chunks += 1;
  if (chunk.choices.length > 0) {
    text += chunk.choices[0].delta.content ?? "";
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  if (chunk.usage) usage = chunk.usage;
}
out.stream = { text, chunks, finish, usage };

const completion = await client.completions.create({
  model: out.models[0], prompt: "Once upon a time", max_tokens: 8, seed: 3,
});
out.completion = { text: completion.choices[0].text, usage: completion.usage };

// A session over HTTP: create it (extension), then two turns each sending only the new message.
const created = await client.post("/sessions", { body: { system_prompt: "Be brief." } });
out.session_turns = [];
for (const question of ["Hello there.", "And then?"]) {
  const turn = await client.chat.completions.create(
    { model: out.models[0], messages: [{ role: "user", content: question }], max_tokens: 6 },
    { headers: { "x-session-id": created.id } });
  out.session_turns.push(turn.usage);
}

try {
  await client.chat.completions.create({ model: out.models[0], messages: [], max_tokens: 9999 });
  out.bad = "accepted";
} catch (error) {
  out.bad = { status: error.status, type: error.error?.type, message: error.error?.message };
}
const wrong = new OpenAI({ baseURL, apiKey: "wrong-key", maxRetries: 0 });
try {
  await wrong.models.list();
  out.unauthenticated = "accepted";
} catch (error) {
  out.unauthenticated = { status: error.status, type: error.error?.type };
}
console.log(JSON.stringify(out));
