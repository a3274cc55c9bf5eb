#!/usr/bin/env python3
"""Render chat templates as HF transformers' apply_chat_template does.

This is the oracle for the golden files: it sets up Jinja2 exactly as
transformers' chat-template code does (ImmutableSandboxedEnvironment with
trim_blocks and lstrip_blocks, the loopcontrols extension, raise_exception,
strftime_now, and a tojson that is json.dumps with ensure_ascii=False) and
renders each case of golden/contexts.json, which the Go tests write with
`go test ./engine/chat -run TestGolden -update-contexts`.

Usage: python3 testdata/hf_render.py   (from engine/chat; needs jinja2)
It writes golden/<template>/<case>.txt, or <case>.error when the template
raised. Go never runs this script; the outputs are committed.
"""

import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))


def environment(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    with open(os.path.join(HERE, "golden", "contexts.json"), encoding="utf-8") as f:
        cases = json.load(f)
    for case in cases:
        with open(os.path.join(HERE, "templates", case["template"]), encoding="utf-8") as f:
            source = f.read()
        now = datetime.strptime(case["date"], "%Y-%m-%d")
        template = environment(now).from_string(source)
        stem = case["template"].rsplit(".", 1)[0]
        outdir = os.path.join(HERE, "golden", stem)
        os.makedirs(outdir, exist_ok=True)
        for ext in (".txt", ".error"):
            old = os.path.join(outdir, case["name"] + ext)
            if os.path.exists(old):
                os.remove(old)
        try:
            text = template.render(**case["context"])
            path, body = os.path.join(outdir, case["name"] + ".txt"), text
        except jinja2.exceptions.TemplateError as e:
            path, body = os.path.join(outdir, case["name"] + ".error"), str(e) + "\n"
        except Exception as e:  # the template failed on the input, as in transformers
            path, body = os.path.join(outdir, case["name"] + ".error"), type(e).__name__ + ": " + str(e) + "\n"
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(body)
    print(f"rendered {len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
