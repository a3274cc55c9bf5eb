// Measures llama.cpp (through node-llama-cpp, CPU only) on GGUF files the
// way llama-bench does: prompt processing of pp tokens in one batch, then
// decoding tg tokens one at a time, each timed from outside the engine.
// `tether bench` (internal/bench) runs it with one job per process, so
// that each file's peak memory is its own.
//
// usage: node bench.mjs request.json > response.json
//
// request: {"threads": 2, "jobs": [{"path": "x.gguf", "context": 4096,
//           "pp": 512, "tg": 128, "repeat": 2, "ttft": 4000, "vocab": 151936}]}
// response: {"version": "...", "jobs": [{"error": "...", "pp_ms": [..], "tg_ms": [..],
//           "ttft_ms": ms, "rss_bytes": n, "max_rss_bytes": n}]}
//
// Tokens are drawn from a fixed pseudo-random sequence below the
// vocabulary size (the job's vocab, default 30000) so both engines see
// the same prompts; internal/bench.Tokens computes the same sequence.
// Each pp run starts from an empty sequence; each tg run decodes after a
// 1-token prompt, sampling greedily after every token; ttft (0 or absent:
// skipped) is one prompt of that many tokens and the first sampled token.
// rss_bytes is the process's resident set after the runs, max_rss_bytes
// its peak so far: VmHWM from /proc/self/status where there is one (the
// peak of node's own address space; getrusage's maxRSS can include the
// parent's peak, inherited across fork and exec), else maxRSS.
import fs from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const threads = request.threads ?? 2;
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});

function tokens(n, vocab) {
    let s = 12345;
    const out = [];
    for (let i = 0; i < n; i++) {
        s = (s * 1103515245 + 12345) % 2147483648;
        out.push(100 + (s % Math.max(1, Math.min(vocab, 30000) - 100)));
    }
    return out;
}

function peakRSS() {
    try {
        const m = /^VmHWM:\s*(\d+) kB$/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
        if (m) return Number(m[1]) * 1024;
    } catch {}
    return process.resourceUsage().maxRSS * 1024;
}

function progress(msg) {
    process.stderr.write(msg + "\n");
}

async function runJob(job) {
    const model = await llama.loadModel({modelPath: job.path, useMmap: true});
    try {
        const vocab = job.vocab ?? 30000;
        const pp = job.pp ?? 512, tg = job.tg ?? 128, repeat = job.repeat ?? 1;
        const contextSize = job.context ?? Math.max(pp, tg) + 16;
        const context = await model.createContext({
            contextSize, batchSize: Math.min(contextSize, 512), sequences: 1,
            flashAttention: true, threads,
        });
        const out = {pp_ms: [], tg_ms: []};
        try {
            const sequence = context.getSequence();
            const prompt = tokens(pp, vocab);
            // warm-up: one short evaluation pages the weights in.
            await sequence.controlledEvaluate(prompt.slice(0, 8));
            for (let r = 0; r < repeat; r++) {
                await sequence.clearHistory();
                const t0 = performance.now();
                await sequence.controlledEvaluate(prompt);
                out.pp_ms.push(performance.now() - t0);
                progress(`llama.cpp ${job.path}: pp${pp} ${out.pp_ms.at(-1).toFixed(0)} ms`);
            }
            const next = {generateNext: {token: true, options: {temperature: 0}}};
            for (let r = 0; r < repeat; r++) {
                await sequence.clearHistory();
                const seq = tokens(tg + 1, vocab);
                await sequence.controlledEvaluate([seq[0]]);
                const t0 = performance.now();
                for (let i = 1; i <= tg; i++) {
                    await sequence.controlledEvaluate([[seq[i], next]]);
                }
                out.tg_ms.push(performance.now() - t0);
                progress(`llama.cpp ${job.path}: tg${tg} ${out.tg_ms.at(-1).toFixed(0)} ms`);
            }
            if (job.ttft) {
                await sequence.clearHistory();
                const long = tokens(job.ttft, vocab);
                const t0 = performance.now();
                await sequence.controlledEvaluate(long.map((t, i) => i === long.length - 1 ? [t, next] : t));
                out.ttft_ms = performance.now() - t0;
                progress(`llama.cpp ${job.path}: ttft${job.ttft} ${out.ttft_ms.toFixed(0)} ms`);
            }
        } finally {
            await context.dispose();
        }
        out.rss_bytes = process.memoryUsage().rss;
        out.max_rss_bytes = peakRSS();
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
let version = "";
try {
    version = JSON.parse(fs.readFileSync(new URL("./node_modules/node-llama-cpp/package.json", import.meta.url))).version;
} catch {}
process.stdout.write(JSON.stringify({version, jobs}));
await llama.dispose();
