"""Bad input through the ``droiz`` command line, every command: exit 2 (1 for a bug), one line on
stderr naming the flag, file or field, no traceback, and nothing loaded or sent first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from runner_helpers import closed_port_url, optimize_base, run_settings

import droiz
from droiz.cli import main
from droiz.testing import FakeOpenAIServer

NON_UTF8 = b"\xff\xfe\xfa not utf-8\n"


class Inputs:
    """Turns ``@token`` values into files and folders under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root, self.n = root, 0
        root.mkdir()
        (root / "afile").write_text("x\n")
        (root / "adir").mkdir()

    def new(self, suffix: str, data: bytes) -> str:
        self.n += 1
        path = self.root / f"in{self.n}{suffix}"
        path.write_bytes(data)
        return str(path)

    def value(self, value: str) -> str:
        prefix, sep, token = value.partition("@")
        if not sep:
            return value
        kind = token.split(":", 1)[0].split("/", 1)[0]
        text = token[len(kind) + 1 :] if token[len(kind) :].startswith(":") else token[len(kind) :]
        if kind in ("file", "dir"):
            return prefix + str(self.root / ("afile" if kind == "file" else "adir")) + text
        if kind == "closed":
            return prefix + closed_port_url()
        if kind == "bytes":
            return prefix + self.new(text, NON_UTF8)
        return prefix + self.new(f".{kind}", text.encode())  # toml, json, csv, jsonl, txt


def check(code: int, err: str, message: str, expected: int = 2) -> None:
    assert code == expected, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err and message in err, err


def run_main(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


@pytest.fixture
def inputs(tmp_path: Path) -> Inputs:
    return Inputs(tmp_path / "in")


@pytest.fixture
def base(world_files: dict, world_server: FakeOpenAIServer, tmp_path: Path) -> dict:
    small = {"--kernel": "matern", "--budget": "4", "--n-init": "2"}
    return optimize_base(world_files, world_server, tmp_path) | small


def argv_of(command: str, args: dict, inputs: Inputs) -> list[str]:
    argv = [command]
    for flag, value in args.items():
        if value is not None:
            argv += [flag, inputs.value(value)]
    return argv


OPTIMIZE = [
    ({"--out": "@file"}, "is a file, not a directory"),
    ({"--out": "@file/x"}, "lies below the file"),
    ({"--cache-dir": "@file"}, "--cache-dir"),
    ({"--cache-dir": "@file/sub"}, "lies below the file"),
    ({"--out": ""}, "--out is empty"),
    ({"--out": "/proc/droiz-run"}, "--out '/proc/droiz-run'"),
    ({"--seed": "-1"}, "seed must be an integer in [0, 2**63)"),
    ({"--seed": "99999999999999999999"}, "seed must be an integer in [0, 2**63)"),
    ({"--seed": str(2**63)}, "seed must be an integer in [0, 2**63)"),
    ({"--seed": "1.5"}, "argument --seed: invalid int value"),
    ({"--config": "@toml:seed = 1.5"}, "seed must be an integer, got 1.5"),
    ({"--config": '@toml:[engine]\neta = "big"'}, "engine.eta must be a number"),
    ({"--config": '@toml:executor_options = "x"'}, "executor_options must be a table"),
    ({"--config": "@toml:n_init = true", "--n-init": None}, "n_init must be an integer, got True"),
    # config values that a flag overrides are checked all the same
    ({"--config": "@toml:n_init = true"}, "n_init must be an integer, got True"),
    ({"--config": '@toml:budget = "lots"'}, "budget must be an integer, got 'lots'"),
    ({"--config": "@toml:task = [1, 2]"}, "task must be a string, got 1"),
    ({"--config": '@toml:generator = "pool:/nonexistent/p.txt"'}, "cannot read the instruction"),
    ({"--config": "@toml:a = " + "[" * 5000 + "]" * 5000}, "more than 32 levels deep"),
    ({"--config": "@json:" + '{"a": ' * 5000 + "1" + "}" * 5000}, "more than 32 levels deep"),
    ({"--config": "@toml:[engine]\neta = " + "[" * 33 + "]" * 33}, "more than 32 levels deep"),
    ({"--groups": ""}, "--groups is empty"),
    ({"--groups": "clean,,case"}, "--groups has an empty name"),
    ({"--groups": "clean,clean"}, "names a group twice"),
    ({"--groups-per-round": "99"}, "--groups-per-round 99 is more than the run's 4 groups"),
    ({"--groups-per-round": "0"}, "groups_per_round must be a positive integer"),
    ({"--task": "@csv:input,output,group\na,b,x\nc,d,\n"}, "line 3: field 'group' is empty"),
    ({"--budget": "1000000000000"}, "--allow-large-budget"),
    ({"--budget": "100001"}, "more than 100,000"),
    ({"--budget": "0"}, "budget must be a positive integer"),
    ({"--budget": "ten"}, "argument --budget: invalid int value"),
    ({"--config": '@toml:budget = "ten"', "--budget": None}, "budget must be an integer, got"),
    ({"--config": "@toml:budget = [\n"}, "is not valid TOML"),
    ({"--config": "@json:{bad"}, "is not valid JSON"),
    ({"--config": "@json:[1, 2]"}, "must hold a table"),
    ({"--config": "@toml:budgett = 3"}, "did you mean 'budget'"),
    ({"--config": "@toml:[engine]\nettta = 0.1"}, "did you mean 'eta'"),
    ({"--config": "@toml:task = 3", "--task": None}, "task must be a name or a list"),
    ({"--config": "@toml:generator_options = [1]"}, "generator_options must be a table"),
    ({"--config": '@toml:[executor_options]\ntemperature = "hot"'}, "temperature must be a num"),
    ({"--config": "@toml:[executor_options]\ntempreature = 0"}, "did you mean 'temperature'"),
    ({"--config": "@toml:[executor_options.retry]\nmax_retriez = 1"}, "mean 'max_retries'"),
    ({"--config": '@toml:[executor_options.retry]\nmax_retries = "x"'}, "retry.max_retries must"),
    ({"--config": "@dir"}, "cannot read the config file"),
    ({"--config": "@bytes:.toml"}, "is not UTF-8 text"),
    ({"--config": "/nonexistent/c.toml"}, "cannot read the config file"),
    ({"--config": ""}, "argument --config: an empty path is not allowed"),
    ({"--config": "@toml:[executor_options]\napi_key = 'sk-x'"}, "looks like a secret"),
    ({"--api-key-env": "sk-live-abc123"}, "must be the NAME of an environment variable"),
    ({"--task": "antonymz"}, "did you mean 'antonyms'"),
    ({"--task": "/nonexistent/t.jsonl"}, "task file not found"),
    ({"--task": "@jsonl:"}, "has no examples"),
    ({"--task": "@bytes:.jsonl"}, "cannot read the file"),
    ({"--task": "@csv:input,answer\na,b\n"}, "the header has no output column"),
    ({"--task": "@jsonl:{bad\n{}\n"}, "line 1: malformed JSON"),
    ({"--task": "@csv:"}, "the file is empty"),
    ({"--task": "@dir"}, "task"),
    ({"--method": "droo"}, "did you mean 'dro'"),
    ({"--kernel": "rbf"}, "unknown kernel"),
    ({"--ambiguity": "kll:0.1"}, "did you mean"),
    ({"--ambiguity": "kl:-1"}, "kl"),
    ({"--reference": "0.5,0.5"}, "has 2 weights but the run has 4 groups"),
    ({"--generator": "pool:/nonexistent/p.txt"}, "cannot read the instruction pool"),
    ({"--generator": "pool:@bytes:.txt"}, "it is not UTF-8 text"),
    ({"--generator": "pool:@dir"}, "cannot read the instruction pool"),
    ({"--generator": "gpt:x"}, "unknown generator"),
    ({"--generator": "hf:/nonexistent/model"}, "does not exist"),
    ({"--executor": "openai:"}, "nothing after 'openai:'"),
    ({"--executor": "foo:bar"}, "unknown executor"),
    ({"--executor": "hf:/nonexistent"}, "cannot load the --executor model"),
    ({"--base-url": "ftp://x"}, "must be an http(s) URL"),
    ({"--base-url": ""}, "must be an http(s) URL"),
    ({"--base-url": "http://u:sk-live-abc123@[::1"}, "is not a valid URL"),
    ({"--base-url": "http://127.0.0.1:99999/v1"}, "Port out of range"),
    ({"--cache-namespace": ""}, "--cache-namespace is empty"),
    ({"--n-demos": "0"}, "n_demos must be a positive integer"),
    ({"--generator": "pool:@txt:\n"}, "is empty"),
    ({"--ambiguity": "kl:nan"}, "finite"),
    ({"--reference": "nan,1,1,1"}, ">= 0"),
    ({"--base-url": "@closed"}, "cannot reach the endpoint"),
    ({"--n-dev": "0"}, "n_dev must be a positive integer"),
    ({"--concurrency": "0"}, "concurrency must be a positive integer"),
    ({"--concurrency": "100000"}, "concurrency must be an integer in [1, 4096]"),
    ({"--finalists": "-1"}, "finalists must be an integer >= 0"),
    ({"--batch-size": "0"}, "batch_size must be a positive integer"),
    ({"--n-test": "0"}, "n_test must be a positive integer"),
    ({"--data-dir": "@file", "--task": "antonyms"}, "data directory"),
    ({"--data-dir": "@file"}, "(from --data-dir) does not exist or is not a folder"),
    ({"--data-dir": "/nonexistent/data"}, "(from --data-dir) does not exist or is not a folder"),
    ({"--budgt": "3"}, "unrecognized arguments: --budgt"),
    ({"--answer-filter": "nosuch"}, "unknown answer filter 'nosuch'"),
    ({"--answer-filter": "regex:("}, "--answer-filter regex:( is not a valid regex"),
    ({"--answer-filter": "first-line,,strip"}, "has an empty entry"),
    ({"--config": "@toml:answer_filter = 3"}, "answer_filter must be a string or a list"),
    ({"--max-answer-tokens": "0"}, "max_answer_tokens must be a positive integer"),
    ({"--max-answer-tokens": "1000001"}, "max_answer_tokens must be an integer in [1, 1000000]"),
    ({"--max-answer-tokens": "many"}, "argument --max-answer-tokens: invalid int value"),
    ({"--max-requests": "-1"}, "--max-requests must be an integer >= 1, got -1"),
    ({"--max-requests": "2.5"}, "argument --max-requests: invalid int value"),
    ({"--max-tokens": "0"}, "--max-tokens must be an integer >= 1, got 0"),
    ({"--max-cost": "abc"}, "argument --max-cost: invalid float value: 'abc'"),
    ({"--max-cost": "0"}, "--max-cost must be a number of USD > 0"),
    ({"--max-cost": "nan"}, "max_cost must be a number, got nan"),
    ({"--max-cost": "1"}, "--max-cost needs the price of the model 'm'"),
    ({"--config": '@toml:max_cost = "1"'}, "max_cost must be a number, got '1'"),
    ({"--config": "@toml:max_requests = true"}, "max_requests must be an integer"),
    ({"--config": "@toml:prices = 3"}, "prices must be a table"),
    ({"--config": '@toml:[prices]\nm = ["a", 1]'}, "the price of 'm' must be"),
    ({"--config": "@toml:[prices]\nm = [-1, 1]"}, "two numbers >= 0"),
    ({"--config": "@toml:allow_large_budget = 1"}, "allow_large_budget must be true or false"),
    ({"--executor": "hf:/nonexistent/model.gguf"}, "the GGUF model file"),
    ({"--out": None}, "the following arguments are required: --out"),
    # loose accepts, refused
    ({"--n-init": "5"}, "--n-init 5 is more than the --budget of 4 evaluations"),
    ({"--config": "@toml:n_init = 9", "--n-init": None}, "--n-init 9 is more than the --budget"),
    ({"--answer-filter": "regex:"}, "--answer-filter regex: has an empty pattern"),
    ({"--answer-filter": "strip,regex:"}, "--answer-filter regex: has an empty pattern"),
    ({"--task": '@jsonl:{"input": "a", "output": ""}\n'}, "line 1: field 'output' has an empty"),
    ({"--task": '@jsonl:{"input": "a", "output": ["b", " "]}\n'}, "has an empty gold answer"),
    ({"--task": "@csv:input,output\na,b\nc, \n"}, "line 3: field 'output' has an empty gold"),
    ({"--task": '@jsonl:{"input": "' + "a" * 10_001 + '", "output": "b"}\n'}, "bytes long"),
    # every local input is checked before the endpoint is probed (it is unreachable here)
    ({"--generator": "pool:@txt:\n", "--base-url": "@closed"}, "is empty"),
    ({"--task": '@jsonl:{"input": "a", "output": ""}\n', "--base-url": "@closed"}, "empty gold"),
    ({"--task": "@csv:input,output\na,b\n", "--base-url": "@closed"}, "needs at least"),
    ({"--out": "/proc/droiz-run", "--base-url": "@closed"}, "lies in /proc"),
    ({"--cache-dir": "@file", "--base-url": "@closed"}, "--cache-dir"),
    ({"--config": "@toml:n_init = true", "--base-url": "@closed"}, "n_init must be an integer"),
    ({"--groups": "clusters:99", "--base-url": "@closed"}, "needs at least 297 examples"),
    ({"--generator": "pool:@txt:ok\n" + "x" * 10_001, "--base-url": "@closed"}, "bytes long"),
    ({"--task": "@jsonl:" + "[" * 5000 + "]" * 5000 + "\n"}, "line 1: nests lists or objects"),
    ({"--generator": "pool:@txt:ok\n" + "x" * 10_001 + "\n"}, "line 2 is 10,001 bytes long"),
    ({"--generator": 'pool:@json:["ok", "' + "x" * 10_001 + '"]'}, "item 2 is 10,001 bytes"),
    ({"--generator": "pool:@json:" + "[" * 5000 + "]" * 5000}, "must be a JSON list of strings"),
]


@pytest.mark.parametrize(("change", "message"), OPTIMIZE, ids=[m for _, m in OPTIMIZE])
def test_optimize_bad_input(base, inputs, change, message, world_server, capsys) -> None:
    code, err = run_main(
        [*argv_of("optimize", {**base, **change}, inputs), "--no-progress"], capsys
    )
    check(code, err, message)
    assert err.startswith(("droiz optimize: error:", "droiz: error:"))
    assert "sk-live-abc123" not in err
    if "@closed" not in change.values():
        assert world_server.n_requests == 0  # local checks come before any request


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_cuda_device_on_a_cpu_only_torch(base, inputs, capsys) -> None:
    change = {"--generator": "hf:@dir", "--config": '@toml:[generator_options]\ndevice = "cuda"'}
    code, err = run_main(argv_of("optimize", {**base, **change}, inputs), capsys)
    check(code, err, "generator_options.device = 'cuda', but this torch")


def test_unknown_embedder_fails_before_loading_anything(base, inputs, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delitem(sys.modules, "sentence_transformers", raising=False)
    change = {"--kernel": "coupled-semantic", "--embedder": "nosuch/model"}
    code, err = run_main(argv_of("optimize", {**base, **change}, inputs), capsys)
    check(code, err, "--embedder 'nosuch/model' is not a local path")
    assert "sentence_transformers" not in sys.modules  # nothing was even imported to load it


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--base-url": "@closed"}, "cannot reach the endpoint"),
        ({"--base-url": "@closed", "--groups": "clusters:2"}, "cannot reach the endpoint"),
        ({"--base-url": None}, "no API key: set the environment variable DROIZ_NO_SUCH_KEY"),
    ],
)
def test_a_new_run_reaches_its_endpoint_before_it_loads_an_embedder(
    base, inputs, monkeypatch, capsys, change, message
) -> None:
    """The pool's features and the clusters are embedded only once the executor could be built:
    an unreachable endpoint or a missing API key is refused first, and nothing is imported."""
    monkeypatch.delitem(sys.modules, "sentence_transformers", raising=False)
    args = {**base, **change, "--api-key-env": "DROIZ_NO_SUCH_KEY"}
    check(*run_main(argv_of("optimize", args, inputs), capsys), message)
    assert "sentence_transformers" not in sys.modules


def test_the_hub_is_asked_after_every_local_check(base, inputs, monkeypatch, capsys) -> None:
    """A model name that is neither local nor cached is asked of the hub after the other local
    checks: an empty pool is reported without asking; with a good pool the hub's answer is the
    error."""
    from droiz.exceptions import ConfigError
    from droiz.llm import checks

    asked = []

    def ask(what: str, name: str) -> None:
        asked.append(name)
        raise ConfigError(f"{what} {name!r}: no such model on the Hugging Face hub")

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(checks, "_ask_hub", ask)
    change = {"--executor": "hf:nosuch-org/nosuch-model", "--base-url": None}
    empty = {**base, **change, "--generator": "pool:@txt:\n"}
    check(*run_main(argv_of("optimize", empty, inputs), capsys), "is empty")
    assert asked == []
    message = "no such model on the Hugging Face hub"
    check(*run_main(argv_of("optimize", {**base, **change}, inputs), capsys), message)
    assert asked == ["nosuch-org/nosuch-model"]


def test_run_directory_states(base, inputs, world_files, world_server, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    args = {**base}
    check(*run_main(argv_of("optimize", args, inputs), capsys), "is not empty (it holds notes.txt)")
    resume = ["optimize", "--out", str(tmp_path / "nothing"), "--resume"]
    check(*run_main(resume, capsys), "nothing to resume")
    check(*run_main(["optimize", "--out", str(run), "--resume"], capsys), "nothing to resume")
    (run / "config.json").write_text("{garbage")
    check(*run_main(argv_of("optimize", args, inputs), capsys), "already holds a run")
    check(*run_main(["optimize", "--out", str(run), "--resume"], capsys), "is not valid JSON")
    (run / "config.json").write_text('{"a": 1}')
    message = "is not the configuration of a droiz run"
    check(*run_main(["optimize", "--out", str(run), "--resume"], capsys), message)
    settings = run_settings(world_files, world_server, budget=4, n_init=2, kernel="matern")
    droiz.optimize(out=tmp_path / "done", **settings)
    capsys.readouterr()
    journal = tmp_path / "done" / "journal.jsonl"
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join([lines[0], "{torn", *lines[1:]]) + "\n")
    n = world_server.n_requests
    resume = ["optimize", "--out", str(tmp_path / "done"), "--resume", "--base-url", "@closed"]
    check(*run_main([inputs.value(a) for a in resume], capsys), "line 2 is not valid JSON")
    assert world_server.n_requests == n  # refused from the journal alone: no probe, no request
    assert not (tmp_path / "nothing").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--max-requests": "0"}, "--max-requests must be an integer >= 1"),
        ({"--max-cost": "2"}, "--max-cost needs the price of the model 'm'"),
        ({"--out": "@file"}, "is a file, not a directory"),
        ({"--answer-filter": "nosuch"}, "unknown answer filter"),
    ],
)
def test_dry_run_bad_input(base, inputs, change, message, world_server, tmp_path, capsys) -> None:
    argv = [*argv_of("optimize", {**base, **change}, inputs), "--dry-run"]
    check(*run_main(argv, capsys), message)
    assert world_server.n_requests == 0 and not (tmp_path / "run").exists()


EVALUATE = [
    ({"--json": "@dir"}, "--json"),
    ({"--json": "@file/x"}, "lies below the file"),
    ({"--json": ""}, "--json is empty"),
    ({"--seed": "-1"}, "seed must be an integer in [0, 2**63), got -1"),
    ({"--seed": "99999999999999999999"}, "seed must be an integer in [0, 2**63)"),
    ({"--groups": ""}, "--groups has an empty name"),
    ({"--groups": "clean,nope"}, "invalid groups"),
    ({"-n": "0"}, "n must be a positive integer, got 0"),
    ({"--split": "train"}, "unknown --split value 'train'"),
    ({"--cache-dir": "@file"}, "--cache-dir"),
    ({"--data-dir": "@file"}, "(from --data-dir) does not exist or is not a folder"),
    ({"--task": "antonymz"}, "did you mean 'antonyms'"),
    ({"--executor": "hf:/nonexistent"}, "cannot load"),
    ({"--concurrency": "0"}, "concurrency must be a positive integer"),
    ({"--concurrency": "5000"}, "concurrency must be an integer in [1, 4096]"),
    ({"--api-key-env": "has space"}, "must be the NAME of an environment variable"),
    ({"--instruction": None}, "the following arguments are required: --instruction"),
    ({"--base-url": "@closed"}, "cannot reach the endpoint"),
    ({"--answer-filter": "nosuch"}, "unknown answer filter 'nosuch'"),
    ({"--max-answer-tokens": "0"}, "max_answer_tokens must be a positive integer"),
    ({"--max-answer-tokens": "x"}, "argument --max-answer-tokens: invalid int value"),
    # outputs and local inputs are checked before any request (the endpoint is unreachable)
    ({"--json": "/proc/droiz-x.json"}, "lies in /proc, a kernel file system"),
    ({"--json": "/proc/self/comm"}, "lies in /proc, a kernel file system"),
    ({"--instruction": "", "--base-url": "@closed"}, "--instruction is empty"),
    ({"--instruction": "  ", "--base-url": "@closed"}, "--instruction is empty"),
    ({"--task": "@jsonl:", "--base-url": "@closed"}, "has no examples"),
]


@pytest.mark.parametrize(("change", "message"), EVALUATE, ids=[m for _, m in EVALUATE])
def test_evaluate_bad_input(base, inputs, change, message, world_server, capsys) -> None:
    args = {k: base[k] for k in ("--task", "--executor", "--base-url", "--cache-dir")}
    args["--instruction"] = "Reverse the word."
    code, err = run_main(argv_of("evaluate", {**args, **change}, inputs), capsys)
    check(code, err, message)
    if "@closed" not in change.values():
        assert world_server.n_requests == 0


OTHERS = [
    (["tasks", "show", "antonymz"], "did you mean 'antonyms'"),
    (["tasks", "show", "@csv:input,output\na,b\n", "--seed", "-1"], "--seed must be an integer"),
    (["tasks", "show", "@csv:input,output\na,b\n", "--metric", "nosuch"], "unknown metric"),
    (["tasks", "show", "@csv:input,output,group\na,b,\n"], "field 'group' is empty"),
    (["tasks", "show", "antonyms", "-n", "x"], "argument -n/--num: invalid int value"),
    (["demo", "--seeds", "0"], "argument --seeds: must be an integer in [1, 10,000]"),
    (["demo", "--out", "@file"], "--out"),
    (["demo", "--json", "@dir"], "--json"),
    (["demo", "--out", ""], "argument --out: an empty path is not allowed"),
    (["demo", "--seeds", "1", "--budget", "30", "--json", "/proc/droiz-x.json"], "lies in /proc"),
    (["demo", "--seeds", "1", "--budget", "30", "--out", "/proc/droiz-x"], "lies in /proc"),
    (["bench", "sim", "--seeds", "1", "--budget", "30", "--json", "/proc/x.json"], "in /proc"),
    (["bench", "sim", "--seeds", "1", "--budget", "30", "--out", "/sys/droiz"], "lies in /sys"),
    (["bench", "drbo", "--seeds", "1", "--steps", "1", "--json", "/proc/self/comm"], "in /proc"),
    (["bench", "drbo", "--seeds", "1", "--steps", "1", "--out", "/proc/x"], "lies in /proc"),
    (["bench", "drbo", "--out", ""], "argument --out: an empty path is not allowed"),
    (["bench", "drbo", "--json", ""], "argument --json: an empty path is not allowed"),
    (["bench", "drbo", "--json", "@dir"], "is a directory"),
    (["data", "verify", "--data-dir", "@file"], "data directory"),
    (["data", "download", "--timeout", "-1"], "--timeout must be a number in (0, 3600]"),
    (["data", "download", "--timeout", "nan"], "--timeout must be a number in (0, 3600]"),
    (["data", "download", "--dest", "@file"], "--dest"),
    (["data", "download", "--dest", ""], "--dest is empty"),
    (["nosuchcommand"], "argument COMMAND: invalid choice"),
    (["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("argv", "message"), OTHERS, ids=[m for _, m in OTHERS])
def test_other_commands_bad_input(inputs, argv, message, capsys) -> None:
    check(*run_main([inputs.value(a) for a in argv], capsys), message)


def test_outputs_are_created_first_and_removed_when_the_command_fails(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import droiz.bench.drbo as drbo

    def failing(*args: object, **kwargs: object) -> None:
        created = tmp_path / "new" / "r.json"
        assert created.is_file() and (tmp_path / "out" / "sub").is_dir()  # claimed before work
        raise RuntimeError("the benchmark broke")

    monkeypatch.setattr(drbo, "run_drbo", failing)
    (tmp_path / "kept.json").write_text("mine")
    argv = ["bench", "drbo", "--seeds", "1", "--steps", "1"]
    argv += ["--json", str(tmp_path / "new" / "r.json"), "--out", str(tmp_path / "out" / "sub")]
    code, err = run_main(argv, capsys)
    assert code == 1 and "the benchmark broke" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.json"]  # nothing left behind
    argv[-3] = str(tmp_path / "kept.json")
    assert run_main(argv, capsys)[0] == 1
    assert (tmp_path / "kept.json").read_text() == "mine"  # an existing output is left alone


def test_evaluate_removes_its_json_when_it_fails(base, inputs, tmp_path, capsys) -> None:
    args = {k: base[k] for k in ("--task", "--executor", "--cache-dir")}
    args |= {"--base-url": "@closed", "--instruction": "x", "--json": str(tmp_path / "e.json")}
    check(*run_main(argv_of("evaluate", args, inputs), capsys), "cannot reach the endpoint")
    assert not (tmp_path / "e.json").exists()


def test_unexpected_errors_are_one_line_with_a_debug_hint(monkeypatch, capsys) -> None:
    import droiz.cli.tasks as tasks_cli

    def broken(args: object) -> int:
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(tasks_cli, "run_list", broken)
    check(*run_main(["tasks", "list"], capsys), "run with `droiz --debug ...`", expected=1)
    with pytest.raises(RuntimeError):
        main(["--debug", "tasks", "list"])

    def no_access(args: object) -> int:
        raise PermissionError(13, "Permission denied", "/some/where")

    monkeypatch.setattr(tasks_cli, "run_list", no_access)
    check(*run_main(["tasks", "list"], capsys), "'/some/where': Permission denied")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["optimize", "--out", "", "--task", "x"], "--out is empty"),
        (
            [
                "evaluate",
                "--task",
                "x",
                "--instruction",
                "i",
                "--executor",
                "openai:m",
                "--json",
                "@dir",
            ],
            "--json",
        ),
        (["tasks", "show", "x", "--seed", "99999999999999999999"], "--seed must be an integer"),
    ],
)
def test_bad_input_in_a_real_process(inputs, argv, message, tmp_path) -> None:
    argv = [inputs.value(a) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-m", "droiz", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    check(proc.returncode, proc.stderr.strip(), message)
    assert list(tmp_path.iterdir()) == [tmp_path / "in"]  # nothing written in the cwd


def test_metric_scores_outside_0_1_or_nan_are_refused_by_the_runner(tmp_path: Path) -> None:
    from droiz.exceptions import DataError
    from droiz.tasks import load_task
    from droiz.tasks.metrics import METRICS
    from droiz.testing import FakeOpenAIServer as Server

    path = tmp_path / "t.csv"
    path.write_text("input,output\n" + "".join(f"w{i},x\n" for i in range(12)))
    for name, value in [("nan_metric", float("nan")), ("big_metric", 1.5), ("neg_metric", -0.1)]:
        with METRICS.scoped():
            METRICS.add(name, lambda prediction, gold, v=value: v)
            task = load_task(path, metric=name)
            with Server() as server, pytest.raises(DataError, match=r"needs scores in \[0, 1\]"):
                droiz.evaluate(task, "x", executor="openai:m", base_url=server.base_url)
        assert name not in METRICS


def test_a_large_budget_needs_the_flag() -> None:
    from droiz.exceptions import ConfigError
    from droiz.runner import RunConfig

    base = {"task": "a", "generator": "pool:p", "executor": "openai:m", "budget": 200_000}
    with pytest.raises(ConfigError, match="--allow-large-budget"):
        RunConfig(**base)
    assert RunConfig(**base, allow_large_budget=True).budget == 200_000
    with pytest.raises(ConfigError, match="allow_large_budget must be true or false"):
        RunConfig(**base, allow_large_budget="yes")
