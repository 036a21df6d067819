"""The sweep's section of the pull-request report: its runs ranked, the best one's apply command, a chart. Pure.

`render` shows it in the report (trimmed before the metrics when the comment is too long); `make sweep` prints it.
"""

from __future__ import annotations

from mlci.core.markdown import code, escape, row, table
from mlci.core.metric_names import HIGHER_IS_BETTER
from mlci.review.charts import mermaid_bars
from mlci.review.sweep_data import Run, Score, Sweep
from mlci.review.sweep_grid import render_value

TITLE = "### Sweep"


def parts(sweep: Sweep) -> tuple[list[str], list[str]]:
    """The section as (lines above the table, including its header) and (one table row per run, best first)."""
    ranked = sweep.ranked()
    metric = sweep.metric
    arrows = {name: " ↑" if HIGHER_IS_BETTER[name] else " ↓" for name in sweep.metrics}
    experiments = [run for run in sweep.runs if run.number]
    lines = [
        f"{TITLE}: {len(experiments)} runs ranked by {metric}{arrows[metric]}",
        "",
        _intro(sweep, len(experiments)),
        "",
        *_apply(sweep.best()),
    ]
    chart = _chart(sweep, ranked)
    if chart:
        lines += ["", chart]
    names = [f"{name}{arrows[name]}" for name in sweep.metrics]
    header = table(["rank", "run", "params", *names, "gate", "time", "stages run"], "rll" + "r" * len(names) + "lrl")
    rows = [_row(rank, run, sweep) for rank, run in enumerate(ranked, start=1)]
    return [*lines, "", *header], rows


def markdown(sweep: Sweep) -> str:
    """The whole section, as `make sweep` prints it."""
    lines, rows = parts(sweep)
    return "\n".join([*lines, *rows])


def _intro(sweep: Sweep, count: int) -> str:
    same = [run for run in sweep.runs if run.compared == "same_rows"]
    if same:
        bases = {name: {run.scores[name].base for run in same if name in run.scores} for name in sweep.metrics}
        shared = ", ".join(f"{name} {_num(next(iter(v)))}" for name, v in bases.items() if len(v) == 1)
        rows = {run.rows for run in same}
        where = f"the same {next(iter(rows)):,} test rows" if len(rows) == 1 else "the same rows as each run"
        against = (
            f"Each run is scored beside the base's model on {where}"
            + (f" (base model: {shared})" if shared else "")
            + ": its value, then the change vs the base model with its paired interval."
        )
    elif any(run.compared == "committed" for run in sweep.runs):
        against = (
            "The base model could not be scored here: each value is followed by its change vs the base's committed "
            "metrics."
        )
    else:
        against = "The base has no metrics yet, so values are shown without a comparison."
    minutes, seconds = divmod(round(sweep.seconds), 60)
    took = f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
    return (
        f"{count} DVC experiments of this pull request's params with the values shown (`sweep:` in `params.yaml`), "
        f"run in {took}. {against} The gate column applies the base's gate to each run; the sweep informs the "
        "review, and only this pull request's own params are gated."
    )


def _apply(best: Run | None) -> list[str]:
    if best is None:
        return ["**No run passes the gate.**"]
    if best.name is None:  # the pull request's own run, reproduced before the sweep
        return ["**This pull request's own params rank first** among the runs that pass the gate."]
    own = ", this pull request's own params" if best.own else ""
    command = "dvc exp run " + " ".join(f"-S {code_arg(key, value)}" for key, value in best.params.items())
    return [
        f"**Best run that passes the gate: #{best.number}** ({code(_params(best))}{own}). Apply it with:",
        "",
        "```sh",
        f"dvc exp apply {best.name}",
        "```",
        "",
        f"The experiments are kept where the sweep ran: locally, after `make sweep`. Elsewhere: `{command}`.",
    ]


def code_arg(key: str, value: object) -> str:
    """`key=value` as one shell word for `dvc exp run -S`."""
    text = f"{key}={render_value(value)}"  # type: ignore[arg-type]
    return text if "'" not in text else '"' + text + '"'


def _chart(sweep: Sweep, ranked: list[Run]) -> str | None:
    shown = [run for run in ranked if run.value(sweep.metric) is not None]
    if not shown:
        return None
    labels = [_label(run) for run in shown]
    bars = [run.value(sweep.metric) for run in shown]
    bases = [run.scores[sweep.metric].base for run in shown]
    line = [float(b) for b in bases if b is not None] if all(b is not None for b in bases) else None
    title = f"{sweep.metric} per run" + (" (line: the base model)" if line else "")
    return mermaid_bars(title, labels, sweep.metric, [float(b) for b in bars if b is not None], line)


def _label(run: Run) -> str:
    return "PR" if run.number == 0 else f"#{run.number}"


def _row(rank: int, run: Run, sweep: Sweep) -> str:
    label = "this pull request" if run.number == 0 else f"#{run.number}"
    if run.number and run.own:
        label += " (this pull request's params)"
    if run.own:
        label = f"**{label}**"
    params = code(_params(run)) if run.params else "its own"
    if run.error is not None:
        cells = ["–"] * len(sweep.metrics)
        gate = f"run failed: {escape(run.error)}"
    else:
        cells = [_cell(run.scores.get(name), run.compared) for name in sweep.metrics]
        gate = "passed" if run.passed else "**failed**"
    time = "–" if run.seconds is None else f"{run.seconds:.1f} s"
    stages = ", ".join(run.ran) or ("– (from the cache)" if run.number else "–")
    return row([str(rank), label, params, *cells, gate, time, stages])


def _params(run: Run) -> str:
    return ", ".join(f"{key}={render_value(value)}" for key, value in run.params.items())


def _cell(score: Score | None, compared: str) -> str:
    if score is None or score.head is None:
        return "–"
    if score.base is None:
        return _num(score.head)
    change = f"{round(score.head - score.base, 9):+.4f}"
    if compared == "same_rows" and score.low is not None and score.high is not None:
        change += f" [{score.low:+.4f}, {score.high:+.4f}]"
    return f"{_num(score.head)} ({change})"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"
