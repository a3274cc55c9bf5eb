// Runs GGUF models in llama.cpp (through node-llama-cpp) and reports, for
// each prompt, its tokens and a greedy path with the top log-probabilities
// at every step, so Go tests can compare tether's engine with llama.cpp.
//
// usage: node eval.mjs request.json > response.json
//
// request: {"threads": 1, "jobs": [{
//   "path": "x.gguf", "context": 512, "n_tokens": N,  // N: for the EOG list
//   "tokenize": ["text", ...],                   // tokenized only
//   "prompts": [{"text": "...", "steps": 32, "top": 5}]
// }]}
// response: {"jobs": [{
//   "error": "..." (only when the model failed to load or run),
//   "eog": [ids],
//   "tokenize": [[ids], ...],
//   "prompts": [{"tokens": [ids], "steps": [{"token": id, "top": [[id, logprob], ...]}]}]
// }]}
//
// Tokenization parses special tokens and adds none (llama_tokenize with
// add_special=false, parse_special=true). Each prompt is decoded as one
// batch, then one token at a time, as llama-server does. Every step
// samples with temperature 0, which in node-llama-cpp is llama.cpp's
// greedy sampler alone (no penalties): the chosen token is the first
// arg-max of the raw logits, and the probabilities are the softmax of the
// raw logits over the whole vocabulary, computed in float32 by the addon
// (expf(l - max) / sum), sorted by logit. The log-probabilities reported
// are Math.log of those, or -1e30 where the float32 probability is 0.
// Generation continues past end-of-generation tokens: the path always has
// the steps asked for.
import fs from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const threads = request.threads ?? 1;
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});

// underflow stands for a probability that is 0 in float32: a log-probability
// below about -104, which JSON could not carry as -Infinity.
const underflow = -1e30;

const greedy = {generateNext: {token: true, probabilities: true, options: {temperature: 0}}};

async function runJob(job) {
    const model = await llama.loadModel({modelPath: job.path});
    try {
        const raw = model._model;
        const out = {tokenize: [], prompts: []};
        for (const text of job.tokenize ?? []) {
            out.tokenize.push(Array.from(raw.tokenize(text, true)));
        }
        if ((job.prompts ?? []).length > 0) {
            const contextSize = job.context ?? 512;
            const context = await model.createContext({
                contextSize, batchSize: contextSize, sequences: 1, flashAttention: true, threads,
            });
            try {
                const sequence = context.getSequence();
                for (const p of job.prompts) {
                    await sequence.clearHistory();
                    const tokens = Array.from(raw.tokenize(p.text, true));
                    const steps = [];
                    let input = tokens.map((t, i) => i === tokens.length - 1 ? [t, greedy] : t);
                    for (let s = 0; s < p.steps; s++) {
                        const res = await sequence.controlledEvaluate(input);
                        const next = res[input.length - 1]?.next;
                        if (next == null || next.token == null) {
                            throw new Error(`no token at step ${s}`);
                        }
                        const top = [];
                        for (const [id, prob] of next.probabilities) {
                            if (top.length >= (p.top ?? 5)) break;
                            top.push([id, prob > 0 ? Math.log(prob) : underflow]);
                        }
                        steps.push({token: next.token, top});
                        input = [[next.token, greedy]];
                    }
                    out.prompts.push({tokens, steps});
                }
            } finally {
                await context.dispose();
            }
        }
        out.eog = [];
        for (let id = 0; id < (job.n_tokens ?? 0); id++) {
            if (raw.isEogToken(id)) out.eog.push(id);
        }
        return out;
    } finally {
        await model.dispose();
    }
}

const jobs = [];
for (const job of request.jobs) {
    try {
        jobs.push(await runJob(job));
    } catch (err) {
        jobs.push({error: String(err && err.message || err)});
    }
}
process.stdout.write(JSON.stringify({jobs}));
await llama.dispose();
