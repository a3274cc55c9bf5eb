// Drives tether serve with OpenAI's Node SDK and the Vercel AI SDK.
// Usage: node openai.mjs SCENARIO, with TETHER_URL (the server's base
// URL), TETHER_KEY and TETHER_MODEL in the environment. Prints one JSON
// object: what the SDK returned, or {"error": {...}} when it threw.
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, streamText, generateObject, jsonSchema, tool } from "ai";
import { z } from "zod";

const baseURL = process.env.TETHER_URL + "/v1";
const apiKey = process.env.TETHER_KEY;
const model = process.env.TETHER_MODEL;
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const messages = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "hello there, tell me the weather" },
];
const person = z.object({
  name: z.string().max(12),
  age: z.number().int().min(0).max(150),
  tags: z.array(z.enum(["a", "b", "c"])).max(3),
});
const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather for a city",
    strict: true,
    parameters: {
      type: "object",
      properties: { city: { type: "string", maxLength: 16 }, days: { type: "integer", minimum: 1, maximum: 7 } },
      required: ["city", "days"],
      additionalProperties: false,
    },
  },
};
// The AI SDK takes the system prompt apart from the messages.
const aiPrompt = { instructions: "You are terse.", prompt: "hello there, tell me the weather" };
const compat = createOpenAICompatible({ name: "tether", baseURL, apiKey, supportsStructuredOutputs: true, includeUsage: true });

const scenarios = {
  async chat() {
    return client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0 });
  },
  async anyModelName() {
    return client.chat.completions.create({ model: "gpt-4o-mini", messages, max_tokens: 4, temperature: 0 });
  },
  async stream() {
    const stream = await client.chat.completions.create({
      model, messages, max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true },
    });
    let text = "", finish = null, usage = null, chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.delta?.content ?? "";
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    return { text, finish, usage, chunks };
  },
  async logprobs() {
    return client.chat.completions.create({ model, messages, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3 });
  },
  async streamLogprobs() {
    const stream = await client.chat.completions.create({
      model, messages, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 2, stream: true,
    });
    const content = [];
    let text = "";
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text += c.delta?.content ?? "";
        content.push(...(c.logprobs?.content ?? []));
      }
    }
    return { text, content };
  },
  async choices() {
    return client.chat.completions.create({ model, messages, max_tokens: 4, temperature: 1, seed: 7, n: 3 });
  },
  async jsonMode() {
    const r = await client.chat.completions.create({
      model, messages, max_tokens: 200, temperature: 1, seed: 3, response_format: { type: "json_object" },
    });
    return { finish: r.choices[0].finish_reason, value: JSON.parse(r.choices[0].message.content) };
  },
  async parse() {
    const r = await client.chat.completions.parse({
      model, messages, max_tokens: 300, temperature: 1, seed: 5, response_format: zodResponseFormat(person, "person"),
    });
    return { finish: r.choices[0].finish_reason, parsed: r.choices[0].message.parsed };
  },
  async requiredTool() {
    const r = await client.chat.completions.create({
      model, messages, max_tokens: 200, temperature: 1, seed: 11, tools: [weatherTool], tool_choice: "required",
    });
    const m = r.choices[0].message;
    return { finish: r.choices[0].finish_reason, content: m.content, calls: m.tool_calls.map((c) => ({ name: c.function.name, args: JSON.parse(c.function.arguments) })) };
  },
  async badKey() {
    const bad = new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 });
    return bad.chat.completions.create({ model, messages, max_tokens: 1 });
  },
  async aiText() {
    const r = await generateText({ model: compat(model), ...aiPrompt, maxOutputTokens: 8, temperature: 0 });
    return { text: r.text, finishReason: r.finishReason, usage: r.usage };
  },
  async aiStream() {
    const r = streamText({ model: compat(model), ...aiPrompt, maxOutputTokens: 8, temperature: 0 });
    let text = "";
    for await (const part of r.textStream) text += part;
    return { text, finishReason: await r.finishReason, usage: await r.usage };
  },
  async aiObject() {
    const r = await generateObject({ model: compat(model), schema: person, prompt: "a person", maxOutputTokens: 300, temperature: 1, seed: 9 });
    return { object: r.object, finishReason: r.finishReason };
  },
  async aiTool() {
    const r = await generateText({
      model: compat(model), ...aiPrompt, maxOutputTokens: 200, temperature: 1, seed: 13, toolChoice: "required",
      tools: { get_weather: tool({ description: "Weather for a city", inputSchema: z.object({ city: z.string().max(16) }) }) },
    });
    return { finishReason: r.finishReason, calls: r.toolCalls.map((c) => ({ name: c.toolName, input: c.input })) };
  },
};

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`unknown scenario ${name}`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await scenarios[name]()));
} catch (e) {
  console.log(JSON.stringify({ error: { name: e?.constructor?.name, status: e?.status ?? e?.statusCode, message: String(e?.message ?? e) } }));
}
