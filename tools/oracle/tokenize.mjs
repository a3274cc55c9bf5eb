// Tokenizes strings with llama.cpp (through node-llama-cpp) so Go tests can
// compare tether's tokenizer with it.
//
// usage: node tokenize.mjs request.json > response.json
//
// request:  {"models": [{"path": "x.gguf", "n_tokens": N, "texts": ["..."], "decode": [[1, 2]]}]}
// response: {"models": [{
//   "error": "..." (only when the model failed to load),
//   "bos": id, "eos": id, "eot": id (-1 when absent), "add_bos": bool, "add_eos": bool,
//   "eog": [ids], "attrs": [llama_token_attr per id],
//   "texts": [{"plain": [ids], "special": [ids],
//              "detok": "...", "detok_special": "..."}],   // of the special ids
//   "decode": [{"plain": "...", "special": "..."}]
// }]}
// Tokenization uses add_special=false (what node-llama-cpp exposes);
// detokenization is llama_detokenize with remove_special=false.
import fs from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});

const models = [];
for (const m of request.models) {
    let model;
    try {
        model = await llama.loadModel({modelPath: m.path, vocabOnly: true});
    } catch (err) {
        models.push({error: String(err && err.message || err)});
        continue;
    }
    const raw = model._model;
    const nTokens = m.n_tokens;
    const eog = [];
    const attrs = [];
    for (let id = 0; id < nTokens; id++) {
        if (raw.isEogToken(id)) eog.push(id);
        attrs.push(raw.getTokenAttributes(id));
    }
    const texts = (m.texts || []).map((text) => {
        const plain = Array.from(raw.tokenize(text, false));
        const special = Array.from(raw.tokenize(text, true));
        return {
            plain,
            special,
            detok: raw.detokenize(Uint32Array.from(special), false),
            detok_special: raw.detokenize(Uint32Array.from(special), true),
        };
    });
    const decode = (m.decode || []).map((ids) => ({
        plain: raw.detokenize(Uint32Array.from(ids), false),
        special: raw.detokenize(Uint32Array.from(ids), true),
    }));
    models.push({
        bos: raw.tokenBos(),
        eos: raw.tokenEos(),
        eot: raw.eotToken(),
        add_bos: raw.shouldPrependBosToken(),
        add_eos: raw.shouldAppendEosToken(),
        eog,
        attrs,
        texts,
        decode,
    });
    await model.dispose();
}
process.stdout.write(JSON.stringify({models}));
await llama.dispose();
