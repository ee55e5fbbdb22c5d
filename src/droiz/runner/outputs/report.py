"""The run directory's outputs: ``best.json``, ``report.md`` and ``best_so_far.png``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from droiz.axes import AXES
from droiz.runner.outputs.best import RunBest
from droiz.runner.outputs.plot import plot_progress
from droiz.runner.outputs.result import OptimizeResult
from droiz.runner.outputs.summary import RoundSummary
from droiz.runner.store.atomic import write_atomic, write_json
from droiz.runner.store.records import Eval, Record, Tell, Verify
from droiz.runner.store.rundir import RunDir


def write_outputs(
    run_dir: RunDir, saved: Mapping[str, Any], result: OptimizeResult, records: Sequence[Record]
) -> list[Path]:
    """Write ``best.json``, ``report.md`` and the plot; return their paths."""
    write_json(run_dir.best, result.best.to_dict())
    return [run_dir.best, *write_report(run_dir, saved, result, records)]


def write_report(
    run_dir: RunDir, saved: Mapping[str, Any], result: OptimizeResult, records: Sequence[Record]
) -> list[Path]:
    """Write ``report.md`` and the plot (from the journal's ``records``); return their paths."""
    write_atomic(run_dir.report, render_report(saved, result, records))
    return [run_dir.report, plot_progress(run_dir.plot, result.rounds)]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def render_report(
    saved: Mapping[str, Any], result: OptimizeResult, records: Sequence[Record]
) -> str:
    """The Markdown report of a finished run."""
    best = result.best
    pick = best.engine_pick
    assert pick is not None and best.robust_value is not None
    lines = [f"# droiz optimize: {', '.join(best.task)}", ""]
    lines += _settings(saved)
    lines += [
        "## Best instruction",
        "",
        f"> {best.instruction or '(empty instruction)'}",
        "",
        f"- robust value on dev: {best.robust_value:.4f} (finalists compared by "
        f"`{best.criterion}` value); evaluation {best.evaluation}, round {best.round}",
        f"- engine's own pick: evaluation {pick.evaluation} (`{pick.selection}` {pick.value:.4f})",
        f"- test: mean {_pct(result.test.mean)}, worst group {_pct(result.test.worst_group)} "
        f"(`{result.test.worst_group_name}`), shifted mixture {_pct(result.test.shifted)} (%)",
        "",
    ]
    lines += _finalists(best)
    lines += _group_table(best, result.rounds)
    lines += _round_table(result.rounds, records, best.groups)
    lines += _usage(result.stats)
    files = (RunDir.CONFIG, RunDir.JOURNAL, RunDir.BEST, RunDir.PLOT)
    lines += ["## Files", "", ", ".join(f"`{name}`" for name in files), ""]
    return "\n".join(lines)


def _settings(saved: Mapping[str, Any]) -> list[str]:
    s = saved["settings"]
    groups = ", ".join(g["name"] for g in saved["resolved"]["groups"])
    ref = ", ".join(f"{w:.3f}" for w in saved["resolved"]["reference"])
    rows = [
        ("task", ", ".join(s["task"])),
        ("groups", f"{s['groups']} → {groups}"),
        ("method", s["method"]),
        *_axes(saved["resolved"]["engine"]),
        ("ambiguity", s["ambiguity"]),
        ("reference", f"{s['reference']} → [{ref}]"),
        ("kernel", s["kernel"]),
        ("budget / batch / initial", f"{s['budget']} / {s['batch_size']} / {s['n_init']}"),
        ("groups per evaluation", s["groups_per_round"]),
        ("dev examples per group and task", s["n_dev"]),
        ("seed", s["seed"]),
        ("generator", s["generator"]),
        ("executor", s["executor"] + (f" at {s['base_url']}" if s.get("base_url") else "")),
        ("answer filter", s.get("answer_filter") or "none (raw answers scored)"),
    ]
    out = ["## Settings", "", "| setting | value |", "|---|---|"]
    out += [f"| {k} | `{v}` |" for k, v in rows]
    return [*out, ""]


def _axes(engine: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The method's axes as rows: its group rule (the rule of a run saved with the retired
    ``auto`` is named with it) and its acquisition, reference update and final pick."""
    from droiz.optim import EngineConfig

    config = EngineConfig.from_dict(dict(engine))
    axes = config.axes()
    rule = axes["group_rule"]
    if config.group_selection == "auto":
        rule += " (saved as auto)"
    rest = ", ".join(f"{k.replace('_', ' ')} {axes[k]}" for k in AXES if k != "group_rule")
    return [("group rule", rule), ("axes", rest)]


def _finalists(best: RunBest) -> list[str]:
    if not best.finalists:
        return []
    out = [
        "## Finalists (verified on every group)",
        "",
        "| evaluation | instruction | engine value | dev robust | dev nominal |",
        "|---|---|---|---|---|",
    ]
    for f in best.finalists:
        text = f.instruction.replace("|", "\\|") or "(empty)"
        out.append(
            f"| {f.evaluation} | {text} | {f.model_value:.4f} | {f.dev_robust:.4f} | "
            f"{f.dev_nominal:.4f} |"
        )
    return [*out, ""]


def _group_table(best: RunBest, rounds: Sequence[RoundSummary]) -> list[str]:
    names = best.groups
    head = "| group | test (%) | dev (%) | " + " | ".join(f"w r{s.round}" for s in rounds) + " |"
    out = [
        "## Per-group scores of the best instruction and worst-case weights per round",
        "",
        "`w rN`: the adversary's weight on each group at the pick after round N (the largest, in "
        "bold, is the weakest group); dev is '–' where the pick was not evaluated.",
        "",
        head,
        "|---" * (3 + len(rounds)) + "|",
    ]
    weakest = [max(range(len(names)), key=lambda k: s.weights[k]) for s in rounds]
    for k, name in enumerate(names):
        cells = [
            f"**{s.weights[k]:.3f}**" if weakest[i] == k else f"{s.weights[k]:.3f}"
            for i, s in enumerate(rounds)
        ]
        test = best.test.per_group.get(name) if best.test else None
        row = f"| {name} | {_pct(test)} | {_pct(best.dev.get(name))} | " + " | ".join(cells)
        out.append(row + " |")
    return [*out, ""]


def _round_table(
    rounds: Sequence[RoundSummary], records: Sequence[Record], names: Sequence[str]
) -> list[str]:
    tells = [r for r in records if isinstance(r, Tell)]
    requests = {int(r.round): r.stats.get("requests", 0) for r in tells}
    instructions: set[str] = set()
    distinct: dict[int, int] = {}
    for rec in records:
        if isinstance(rec, Eval) and not isinstance(rec, Verify):
            instructions.add(rec.instruction)
            distinct[int(rec.round)] = len(instructions)
    out = [
        "## Rounds",
        "",
        "| round | evaluations | robust value of the pick | pick | weakest group | "
        "distinct instructions | requests |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in rounds:
        weakest = names[max(range(len(s.weights)), key=lambda k: s.weights[k])]
        out.append(
            f"| {s.round} | {s.n_evaluations} | {s.robust_value:.4f} | {s.index} | {weakest} | "
            f"{distinct.get(s.round, '–')} | {int(requests.get(s.round, 0))} |"
        )
    return [*out, ""]


def _usage(stats: Mapping[str, float]) -> list[str]:
    keys: tuple[str, ...] = ("requests", "retries", "cache_hits", "cache_misses")
    keys += ("prompt_tokens",)
    keys += ("completion_tokens", "cost", "generated", "generator_cache_hits")
    out = ["## LLM usage (all sessions of the run)", "", "| counter | value |", "|---|---|"]
    out += [f"| {k} | {stats.get(k, 0):g} |" for k in keys if k in stats]
    return [*out, ""]
