"""Time and measure the pipeline on the demo data at several sizes: `make bench` (`ROWS="10000 100000"` to choose).

For each row count the project (tracked files and untracked ones git does not ignore) is copied into a fresh git
repository in a temp folder, `demo.n_rows` is set there, and everything runs in that copy, never in the working tree:

- `dvc repro`, end to end: wall time, and peak RSS of its process tree (the largest single process, from `wait4`);
- each stage, read from that same run: DVC runs a stage's command as `$SHELL -c <cmd>` with `DVC_STAGE` set, so
  `SHELL` points at a small timer that runs the real shell as its child and logs wall time and peak RSS. What is left
  of the end-to-end time is DVC's own work: start-up, hashing, cache copies, `dvc.lock`;
- a no-op `dvc repro` (a second one, nothing to run; median of 3);
- the floor: the default model's bare `fit` + `predict_proba` on the same split, data already in memory, one process
  (and the fit again on one OpenMP thread, for comparison with a stage that pins its threads).

- cold start, at the project's own demo size: each stage run again by itself (`python -X importtime -m ...`), its
  wall time split into interpreter start-up, imports (the sum of the top-level imports' cumulative times) and the
  rest, its work; this is what a fresh clone's `make repro` pays six times over. `--cold-only` prints just that.

Prints Markdown (stdout; progress goes to stderr) and the targets with pass or fail. `--json PATH` saves the numbers.
The copies are removed at the end, pass or fail, unless `--keep`. The copy and its environment come from
`tests/projectkit.py`, shared with the end-to-end tests.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # projectkit: the project copied into a temp git + DVC repository
import setup_bench  # noqa: E402  # the set-up rows: uv vs pip, a fresh clone

import projectkit  # noqa: E402

DEFAULT_ROWS = (10_000, 100_000, 1_000_000)
NOOP_RUNS = 3
GIB = 1024**3
MIB = 1024**2
# The targets from the performance issue.
MAX_FLOOR_RATIO_1M = 2.5
MAX_PEAK_1M = 2 * GIB
MAX_SECONDS_100K = 10.0
MAX_NOOP_SECONDS = 1.5
SHELL_OPTIONS = {"bash": ["--noprofile", "--norc"], "zsh": ["--no-rcs"]}  # what DVC passes to these shells
STAGE_TIMER = '''#!{python} -IS
"""Stands in for $SHELL while DVC runs a stage: runs the real shell, then logs wall time and peak RSS."""
import os, sys, time
start = time.time()
pid = os.fork()
if pid == 0:
    os.execv({shell!r}, [{shell!r}, *{options!r}, *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
with open({log!r}, "a") as out:  # one repr()'d tuple a line: json would add 10 ms to every stage
    out.write(repr((os.environ.get("DVC_STAGE", "?"), sys.argv[-1], start, time.time(), usage.ru_maxrss)) + "\\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
'''
FLOOR_FILES = ("data/validated/schema.json", "data/split/train.parquet", "data/split/test.parquet")
RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, KiB elsewhere


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and where its log is."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS), help="demo row counts to run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every number to this JSON file")
    parser.add_argument(
        "--engine", default="sklearn", choices=["sklearn", "dask_lightgbm"], help="train.engine for the runs"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp copies (their paths go to stderr)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--no-setup", action="store_true", help="skip the set-up rows (uv vs pip, fresh clone)")
    parser.add_argument("--cold-only", action="store_true", help="only the cold-start table (import time vs work)")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)  # internal: time the floor in this project copy
    args = parser.parse_args(argv)
    if args.floor:
        print(json.dumps(floor(args.floor)))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so the copies are still removed
    if args.cold_only:
        print(render_cold(cold_start()))
        return 0
    try:
        cold = cold_start()
        setup = None
        if not args.no_setup:
            print("[setup] make setup (uv) vs pip, then a fresh clone's make repro ...", file=sys.stderr, flush=True)
            setup = setup_bench.measure()
        results = [bench(rows, args.keep, args.engine) for rows in sorted(set(args.rows))]
    except (BenchError, projectkit.CommandFailed, RuntimeError) as exc:
        print(f"error: bench: {exc}", file=sys.stderr)
        return 1
    checks = targets(results) + setup_targets(setup)
    print(render(results, checks, setup))
    print("\n" + render_cold(cold))
    if args.json:
        numbers = {"machine": machine(), "setup": setup, "sizes": results, "targets": checks, "cold_start": cold}
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    return 1 if args.strict and any(check["pass"] is False for check in checks) else 0


def bench(rows: int, keep: bool, engine: str = "sklearn") -> dict:
    """Copy the project, set `demo.n_rows` and `train.engine`, and measure the pipeline there."""
    work = Path(tempfile.mkdtemp(prefix=f"mlci-bench-{rows}-"))
    try:
        project = projectkit.new_project(
            work / "project",
            params={"demo": {"n_rows": rows}, "train": {"engine": engine}},
            message=f"bench: demo.n_rows={rows}, train.engine={engine}",
        )
        stage_log = work / "stages.log"
        env = environment(project, stage_timer(work / "stage-timer", stage_log))
        overhead = timer_overhead(work, env)
        dvc = [projectkit.venv_tool("dvc"), "repro"]

        progress(rows, "dvc repro ...")
        others = other_cpu()
        started = time.time()
        wall, peak = run(dvc, project, env, work / "dvc-repro.log")
        ended = time.time()
        stages = stage_times(stage_log)
        progress(rows, f"dvc repro {wall:.1f} s; no-op dvc repro x{NOOP_RUNS} ...")
        noop = [run(dvc, project, env, work / "dvc-noop.log")[0] for _ in range(NOOP_RUNS)]
        if len(stage_times(stage_log)) != len(stages):
            raise BenchError(f"the second `dvc repro` ran stages again; see {work / 'dvc-noop.log'}")
        progress(rows, f"no-op {statistics.median(noop):.2f} s; floor (fit + predict_proba) ...")
        floor_log = work / "floor.log"
        _, floor_peak = run([sys.executable, str(Path(__file__).resolve()), "--floor", "."], project, env, floor_log)
        bare = json.loads(floor_log.read_text().strip().splitlines()[-1])
        others = other_cpu() - others
        progress(rows, f"floor {bare['fit'] + bare['predict']:.1f} s")
        starts = [stage["start"] for stage in stages] or [ended]
        ends = [stage["end"] for stage in stages] or [started]
        commands = sum(len(stage["cmd"]) for stage in stages)
        for stage, next_start in zip(stages, [*starts[1:], ended + overhead], strict=True):
            stage["dvc_after"] = next_start - overhead - stage["end"]  # saving its outputs, checking the next stage
        return {
            "rows": rows,
            "engine": engine,
            "end_to_end": wall - commands * overhead,  # as if DVC had started the real shell itself
            "end_to_end_measured": wall,
            "timer_overhead_per_command": overhead,
            "peak_rss": peak,
            "stages": stages,
            "dvc": {
                "total": wall - commands * overhead - sum(stage["wall"] for stage in stages),
                "before_first_stage": starts[0] - started - overhead,
                "between_stages": sum(start - end for start, end in zip(starts[1:], ends[:-1], strict=True))
                - max(commands - 1, 0) * overhead,
                "after_last_stage": ended - ends[-1],
            },
            "noop": noop,
            "floor": {**bare, "total": bare["fit"] + bare["predict"], "peak_rss": floor_peak},
            "other_cpu": others / (time.time() - started),
        }
    finally:
        if keep:
            progress(rows, f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$")  # top level: no indent before the name
STARTUP_RUNS = 5


def cold_start() -> dict:
    """Each stage of a pipeline at the project's own params, run by itself: start-up, imports and work, seconds."""
    work = Path(tempfile.mkdtemp(prefix="mlci-bench-cold-"))
    try:
        project = projectkit.new_project(work / "project", params={}, message="bench: cold start")
        env = projectkit.default_environment(project)
        print("[cold start] dvc repro, then each stage by itself ...", file=sys.stderr, flush=True)
        run([projectkit.venv_tool("dvc"), "repro"], project, env, work / "dvc-repro.log")
        python = projectkit.venv_tool("python")
        startup = statistics.median(
            run([python, "-c", "pass"], project, env, work / "startup.log")[0] for _ in range(STARTUP_RUNS)
        )
        names = list(yaml_stages(project))
        stages = []
        for name in names:
            log = work / f"{name}.importtime"
            wall, peak = run([python, "-X", "importtime", "-m", f"mlci.stages.{name}"], project, env, log)
            imports, top = import_seconds(log.read_text(errors="replace"))
            work_seconds = max(wall - startup - imports, 0.0)
            stages.append({"stage": name, "wall": wall, "imports": imports, "work": work_seconds, "top": top})
        return {"startup": startup, "stages": stages, "bytecode": bytecode_state()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def yaml_stages(project: Path) -> list[str]:
    import yaml

    return list(yaml.safe_load((project / "dvc.yaml").read_text())["stages"])


def import_seconds(log: str) -> tuple[float, list[tuple[str, float]]]:
    """The sum of the top-level imports' cumulative times in `-X importtime` output, and the five largest."""
    top = []
    for line in log.splitlines():
        found = IMPORT_LINE.match(line)
        if found:
            top.append((found.group(2).strip(), int(found.group(1)) / 1e6))
    top.sort(key=lambda item: -item[1])
    return sum(seconds for _, seconds in top), top[:5]


def bytecode_state() -> str:
    """Whether this environment's libraries have compiled bytecode, and whether Python may write more."""
    import sklearn

    compiled = any((Path(sklearn.__file__).parent / "__pycache__").glob("*.pyc"))
    writes = "not written (PYTHONDONTWRITEBYTECODE)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "written"
    return f"libraries {'compiled' if compiled else 'not compiled'}; new bytecode {writes}"


def render_cold(cold: dict) -> str:
    lines = [
        f"Cold start: each stage by itself at the project's params ({cold['bytecode']}; interpreter start-up "
        f"{seconds(cold['startup'])} a process). Imports are `-X importtime`'s top-level cumulative times.",
        "",
        "| stage | wall | imports | work | largest imports |",
        "|---|---:|---:|---:|---|",
    ]
    for stage in cold["stages"]:
        largest = ", ".join(f"{name} {value:.2f}" for name, value in stage["top"][:3])
        cells = [f"`{stage['stage']}`", *(seconds(stage[key]) for key in ("wall", "imports", "work")), largest]
        lines.append("| " + " | ".join(cells) + " |")
    totals = [seconds(sum(stage[key] for stage in cold["stages"])) for key in ("wall", "imports", "work")]
    lines.append("| **all stages** | " + " | ".join(f"**{total}**" for total in totals) + " | |")
    return "\n".join(lines)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode:
        raise BenchError(f"`git {' '.join(args)}` failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def real_shell() -> list[str]:
    """The shell DVC would run stage commands with, and the options it would pass."""
    shell = os.environ.get("SHELL") or "/bin/sh"
    return [shell, *SHELL_OPTIONS.get(Path(shell).name.lower(), [])]


def stage_timer(path: Path, log: Path) -> Path:
    """Write the stand-in shell that logs each stage command's wall time and peak RSS to `log`."""
    shell, *options = real_shell()
    path.write_text(STAGE_TIMER.format(python=sys.executable, shell=shell, options=options, log=str(log)))
    path.chmod(0o755)
    return path


def timer_overhead(work: Path, env: dict[str, str], runs: int = 7) -> float:
    """Seconds the stage timer adds to each command (its own Python start-up): median over `runs` paired runs."""
    timer = stage_timer(work / "calibration-timer", work / "calibration.log")
    differences = []
    for _ in range(runs):
        elapsed = []
        for cmd in ([str(timer), "-c", "true"], [*real_shell(), "-c", "true"]):
            start = time.perf_counter()
            subprocess.run(cmd, env=env, check=True)
            elapsed.append(time.perf_counter() - start)
        differences.append(elapsed[0] - elapsed[1])
    return max(statistics.median(differences), 0.0)


def other_cpu() -> float:
    """CPU seconds used so far by processes other than this one and its children (Linux; 0 elsewhere).

    The difference across a measurement says how busy the machine was with other work: noise in the timings.
    """
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    ours = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return busy - sum(usage.ru_utime + usage.ru_stime for usage in ours)


def environment(project: Path, shell: Path) -> dict[str, str]:
    """The copy's isolated environment (this venv first, the copy's own code), with the stage timer as DVC's shell."""
    return projectkit.default_environment(project) | {"SHELL": str(shell)}


def run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[float, int]:
    """Run `cmd` with its output in `log`; return wall seconds and the peak RSS (bytes) of its largest process."""
    with log.open("ab") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise BenchError(f"`{' '.join(cmd)}` exited with {proc.returncode} in {cwd}; its output ends:\n{tail}")
    return wall, usage.ru_maxrss * RSS_UNIT


def stage_times(log: Path) -> list[dict]:
    """One entry per stage in the order DVC ran them (a stage with several commands adds up their times)."""
    stages: dict[str, dict] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        name, cmd, start, end, peak = ast.literal_eval(line)
        stage = stages.setdefault(name, {"stage": name, "cmd": [], "wall": 0.0, "peak_rss": 0, "start": start})
        stage["cmd"].append(cmd)
        stage["wall"] += end - start
        stage["peak_rss"] = max(stage["peak_rss"], peak * RSS_UNIT)
        stage["end"] = end
    return list(stages.values())


def floor(project: Path) -> dict[str, float]:
    """The default model's bare fit and predict_proba times on the project's split, data already in memory."""
    import pyarrow.parquet as pq
    from threadpoolctl import threadpool_limits

    from mlci.core.params import TrainParams
    from mlci.core.schema import Schema
    from mlci.model.pipeline import build_pipeline

    os.chdir(project)
    schema = Schema.load(FLOOR_FILES[0])
    columns = [*schema.features, schema.target]
    train, test = (pq.read_table(path, columns=columns).to_pandas() for path in FLOOR_FILES[1:])
    X, y = train[schema.features], train[schema.target].to_numpy()
    model, again = build_pipeline(TrainParams(), schema), build_pipeline(TrainParams(), schema)  # imports sklearn
    start = time.perf_counter()
    model.fit(X, y)
    fitted = time.perf_counter()
    model.predict_proba(test[schema.features])
    predicted = time.perf_counter()
    with threadpool_limits(limits=1):  # also on one thread: what a fit pinned to one thread for determinism costs
        again.fit(X, y)
    return {"fit": fitted - start, "predict": predicted - fitted, "fit_one_thread": time.perf_counter() - predicted}


def targets(results: list[dict]) -> list[dict]:
    """Each target of the performance issue with what was measured and whether it passes (None: not measured)."""
    by_rows = {result["rows"]: result for result in results}
    big, mid = by_rows.get(1_000_000), by_rows.get(100_000)
    noop = max((statistics.median(result["noop"]) for result in results), default=None)
    ratio = big and big["end_to_end"] / big["floor"]["total"]
    scaling = big and mid and big["end_to_end"] / mid["end_to_end"]
    return [
        check("1M rows: end to end / floor", ratio, MAX_FLOOR_RATIO_1M, times),
        check("1M rows: peak RSS of `dvc repro`", big and big["peak_rss"], MAX_PEAK_1M, gib),
        check("100k rows: end to end", mid and mid["end_to_end"], MAX_SECONDS_100K, seconds),
        check("no-op `dvc repro`, slowest size", noop, MAX_NOOP_SECONDS, seconds),
        check("time growth 100k -> 1M rows (rows x10)", scaling, 10.0, times),
    ]


def setup_targets(setup: dict | None) -> list[dict]:
    """The set-up targets: uv's share of pip's time, and a fresh clone's `make repro`."""
    return [
        check("set-up: `make setup` (uv) / pip", setup and setup["ratio"], setup_bench.MAX_SETUP_RATIO, times),
        check(
            "fresh clone: `make repro`, package cache warm",
            setup and setup["fresh_clone_repro"],
            setup_bench.MAX_FRESH_CLONE_REPRO,
            seconds,
        ),
    ]


def check(name: str, value: float | None, limit: float, show) -> dict:
    measured = value is not None
    return {
        "target": name,
        "measured": value,
        "limit": limit,
        "wanted": f"<= {show(limit)}",
        "shown": show(value) if measured else "not measured",
        "pass": value <= limit if measured else None,
    }


def render(results: list[dict], checks: list[dict], setup: dict | None = None) -> str:
    """The results as Markdown: the set-up, one column per size, then the targets."""
    head = "| | " + " | ".join(f"{rows_label(r['rows'])} rows" for r in results) + " |"
    engines = sorted({result.get("engine", "sklearn") for result in results})
    lines = [f"Benchmark on {describe_machine()}; train.engine: {', '.join(engines)}.", ""]
    if setup:
        lines += [
            "| set-up: new venv + runtime lock + the project, package cache warm | seconds |",
            "|---|---|",
            f"| `make setup` (uv, hash-checked) | {seconds(setup['uv'])} |",
            f"| the same through pip (`venv`, `pip install -r requirements.txt`, `-e .`) | {seconds(setup['pip'])} |",
            f"| fresh clone: `git clone` + `make repro` | {seconds(setup['fresh_clone_repro'])} |",
            "",
        ]
    lines += [head, "|---" * (len(results) + 1) + "|"]

    def row(label: str, cell) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(result) for result in results) + " |")

    names = list(dict.fromkeys(stage["stage"] for result in results for stage in result["stages"]))
    for name in names:
        row(f"`{name}`", lambda r, name=name: stage_cell(r, name))
    row("DVC itself (start-up, hashing, cache, lock)", lambda r: seconds(r["dvc"]["total"]))
    row("**`dvc repro`, end to end**", lambda r: f"**{seconds(r['end_to_end'])} · {mib(r['peak_rss'])}**")
    row(f"no-op `dvc repro` (median of {NOOP_RUNS})", lambda r: seconds(statistics.median(r["noop"])))
    row("floor: bare fit + predict_proba", lambda r: f"{seconds(r['floor']['fit'])} + {seconds(r['floor']['predict'])}")
    row(
        "floor, fit on one thread + predict_proba",
        lambda r: seconds(r["floor"]["fit_one_thread"] + r["floor"]["predict"]),
    )
    row("end to end / floor", lambda r: f"{r['end_to_end'] / r['floor']['total']:.1f}x")
    row("time outside fit / predict", lambda r: f"{1 - r['floor']['total'] / r['end_to_end']:.0%}")
    previous = {id(b): a for a, b in zip(results, results[1:], strict=False)}
    row("growth vs previous size (time, floor)", lambda r: growth(previous.get(id(r)), r))
    row("other processes' CPU meanwhile (noise)", lambda r: f"{r['other_cpu']:.0%} of a CPU")
    overhead = statistics.median(r["timer_overhead_per_command"] for r in results) * 1000
    lines += [
        "",
        "Cells: wall time · peak RSS of the largest process. End to end leaves out the stage timer's own start-up "
        f"(measured: {overhead:.0f} ms a stage).",
        "",
        "| target | measured | wanted | result |",
        "|---|---|---|---|",
    ]
    verdict = {True: "pass", False: "**FAIL**", None: "-"}
    lines += [f"| {c['target']} | {c['shown']} | {c['wanted']} | {verdict[c['pass']]} |" for c in checks]
    return "\n".join(lines)


def stage_cell(result: dict, name: str) -> str:
    found = [stage for stage in result["stages"] if stage["stage"] == name]
    return f"{seconds(found[0]['wall'])} · {mib(found[0]['peak_rss'])}" if found else "-"


def growth(before: dict | None, after: dict) -> str:
    if before is None:
        return "-"
    ratio = after["rows"] / before["rows"]
    e2e = after["end_to_end"] / before["end_to_end"]
    bare = after["floor"]["total"] / before["floor"]["total"]
    return f"{times(e2e)}, {times(bare)} (rows {ratio:g}x)"


def rows_label(rows: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{suffix}"
    return str(rows)


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def mib(value: float) -> str:
    return f"{value / MIB:.0f} MiB"


def times(value: float) -> str:
    return f"{value:.2f}x"


def gib(value: float) -> str:
    return f"{value / GIB:.2f} GiB"


def machine() -> dict:
    versions = {}
    for name in ("dvc", "scikit-learn", "pandas", "pyarrow", "numpy", "skops"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    commit = git(ROOT, "rev-parse", "--short", "HEAD").strip()
    dirty = bool(git(ROOT, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no").strip())
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "commit": commit + ("-dirty" if dirty else ""),
        "date": time.strftime("%Y-%m-%d"),
        "versions": versions,
    }


def describe_machine() -> str:
    info = machine()
    libraries = ", ".join(f"{name} {version}" for name, version in info["versions"].items() if version)
    return (
        f"{info['cpus']} CPUs, {info['platform']}, Python {info['python']}, {libraries}; "
        f"commit {info['commit']}, {info['date']}"
    )


def progress(rows: int, message: str) -> None:
    print(f"[{rows_label(rows)} rows] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
