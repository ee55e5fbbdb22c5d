"""``droiz optimize``: robust instruction optimisation against a black-box LLM."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from droiz._signals import Terminated
from droiz.cli._errors import path_arg
from droiz.cli._report import print_groups, print_usage
from droiz.cli._settings import add_setting_flags, given_settings

if TYPE_CHECKING:
    from pathlib import Path

    from droiz.runner.loop.guards import CapReached
    from droiz.runner.loop.hooks import Progress
    from droiz.runner.outputs.result import OptimizeResult
    from droiz.runner.plan import RunPlan


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "optimize",
        help="find a robust instruction for a task with a black-box LLM",
        description=(
            "Runs DRO-InstructZero: robust Bayesian optimisation over soft prompts; the generator "
            "turns them into instructions, the executor runs them on the task's dev examples of "
            "every group, and the run directory receives config.json, journal.jsonl, best.json, "
            "report.md and best_so_far.png. Flags override --config, which overrides defaults."
        ),
    )
    add_run_flags(p)
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.set_defaults(func=run)
    r = sub.add_parser(
        "resume",
        help="continue a run: droiz optimize --out RUN_DIR --resume",
        description=(
            "Continues the run in RUN_DIR, as droiz optimize --out RUN_DIR --resume does, with "
            "the same flags (only location settings and the caps may change)."
        ),
    )
    r.add_argument("out", metavar="RUN_DIR", help="the run directory")
    add_run_flags(r, "resume")
    r.set_defaults(func=run, resume=True)


def add_run_flags(p: argparse.ArgumentParser, command: str = "optimize") -> None:
    """The flags ``droiz optimize`` and ``droiz resume`` share: every setting's, and these."""
    add_setting_flags(p, command)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print upper bounds of the requests, tokens and cost of the run; send nothing",
    )
    p.add_argument("--config", type=path_arg, metavar="FILE", help="JSON or TOML settings file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """The command; Ctrl-C or SIGTERM at any moment (its start-up included) ends it with the
    line that says how to continue, and exit code 130 or 143."""
    try:
        return _run(args)
    except KeyboardInterrupt as exc:
        hint = f"continue with: droiz optimize --out {args.out} --resume"
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"droiz optimize: {what}; {hint}", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from droiz.registry import load_plugins
    from droiz.runner import CapReached, dry_run, optimize

    settings = given_settings(args, "optimize")  # None: not given (a resume keeps the saved)
    load_plugins(settings["plugins"] or [])
    if args.dry_run:
        plan = dry_run(out=args.out, config=args.config, resume=args.resume, **settings)
        print_plan(plan, dry=True)
        return 0
    bar = None if args.no_progress else ProgressBar()
    try:
        result = optimize(
            out=args.out,
            config=args.config,
            resume=args.resume,
            progress=bar,
            announce=lambda plan: print_plan(plan, dry=False),
            **settings,
        )
    except CapReached as stop:
        if bar is not None:
            bar.close()
            bar = None
        print_stop(stop)
        return 3
    finally:
        if bar is not None:
            bar.close()
    print_result(result)
    return 0


def cost_text(cost: float | None) -> str:
    """A cost bound in USD, or why there is none."""
    return "unknown (a model has no price)" if cost is None else f"{cost:.4f} USD"


def print_plan(plan: RunPlan, *, dry: bool) -> None:
    """The upper bounds of what the run sends (on stderr before a run, stdout for --dry-run)."""
    cost = cost_text(plan.cost)
    parts = f"evaluations {plan.evaluations}, verification {plan.verification}, test {plan.test}"
    if plan.generation:
        parts += f", generation {plan.generation}"
    cached = f"; {plan.cached} answers already cached" if plan.cached else ""
    if dry:
        print(f"dry run: {plan.remaining} evaluations to run; nothing was sent")
        print(f"requests at most: {plan.requests} ({parts}){cached}")
        print(
            f"tokens at most: {plan.tokens} ({plan.prompt_tokens} prompt, "
            f"{plan.completion_tokens} completion)"
        )
        print(f"cost at most: {cost}")
        print("retries after transient faults come on top (the --max-* caps count them)")
        return
    print(
        f"droiz optimize: at most {plan.requests} requests ({parts}){cached}, plus retries",
        file=sys.stderr,
    )


def print_stop(stop: CapReached) -> None:
    """The summary of a run stopped at a cap."""
    best, stats = stop.best, stop.stats
    print(f"droiz optimize: {stop}", file=sys.stderr)
    print(
        f"stopped at the --{stop.cap.replace('_', '-')} cap after "
        f"{best['evaluations_done']} of {best['budget']} evaluations"
    )
    if best.get("instruction") is not None:
        print(
            f"best so far: {best['instruction']!r} (robust value {best['robust_value']:.4f}, "
            f"{best['criterion']}; not verified, no test evaluation yet)"
        )
    print_usage(stats)
    print(f"run directory: {stop.run_dir} (best.json holds the best so far)")
    print_tracking(stop.run_dir)


class ProgressBar:
    """A tqdm bar on stderr (plain lines when tqdm is missing): round, evaluations, best robust
    value and requests."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._last = ""

    def __call__(self, p: Progress) -> None:
        best = "–" if p.best_value is None else f"{p.best_value:.3f}"
        text = f"round {p.round} best {best} requests {p.requests} cached {p.cache_hits}"
        if self._bar is None:
            self._bar = _make_bar(p.budget)
        if self._bar is not None:
            self._bar.n = p.evaluations
            self._bar.set_postfix_str(text, refresh=True)
        elif text != self._last:
            line = f"droiz optimize: {p.evaluations}/{p.budget} evaluations, {text}"
            print(line, file=sys.stderr)
        self._last = text

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _make_bar(total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="eval", desc="droiz optimize", file=sys.stderr, leave=True)


def print_result(result: OptimizeResult) -> None:
    """The readable summary of a finished run."""
    best, test = result.best, result.test
    print(f"best instruction: {best['instruction']!r}")
    print(
        f"robust value (dev, {best['ambiguity']}): {best['robust_value']:.4f}   "
        f"evaluation {best['evaluation']} of {best['budget']}"
    )
    if best.get("answer_filter"):
        print(f"answer filter: {best['answer_filter']}")
    print("test accuracy of the best instruction:")
    print_groups(test)
    print_usage(result.stats)
    print(f"run directory: {result.run_dir} (best.json, report.md, best_so_far.png)")
    print_tracking(result.run_dir)


def print_tracking(run_dir: Path) -> None:
    """Where the run is tracked (``--track``), with the URI's credentials masked."""
    from droiz.runner.tracking.hooks import describe

    line = describe(run_dir)
    if line is not None:
        print(f"tracked: {line}")
