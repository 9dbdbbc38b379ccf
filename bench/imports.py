"""``leaderboard bench imports``: the cold start of each Lambda entry module.

A Lambda's cold start pays for the interpreter and for importing its handler module
before the first event. For each module of :data:`LAMBDA_MODULES` this runs
``python -c 'import X'`` in a fresh process (this interpreter, this environment) and
takes the whole process's wall time, from spawn to exit: one warm-up run that is not
counted (it writes the bytecode caches, as a deployed package ships them), then the
median of ``runs``. The baseline, measured the same way and interleaved with the
modules run by run, is ``python -c 'pass'``: the interpreter's own start. Target: each
module at most 300 ms, interpreter included.

What it costs: ``(runs + 1) x 6`` processes of 0.05-0.3 s each, ~10 s at the default 7.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any, Final

from bench.stats import vs

# The handler module of every Lambda function the CDK app deploys (infra/compute.py).
LAMBDA_MODULES: Final = (
    "authorizer.handler",
    "connect.handler",
    "broadcast.handler",
    "rest.handler",
    "db.handler",
)
BASELINE: Final = "pass"
TARGET_MS: Final = 300.0


def _process_ms(code: str) -> float:
    """The wall time of ``python -c code`` in a fresh process, in milliseconds."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - began) * 1000


def run(*, runs: int, modules: tuple[str, ...] = LAMBDA_MODULES) -> dict[str, Any]:
    codes = {BASELINE: "pass", **{m: f"import {m}" for m in modules}}
    for code in codes.values():  # warm-up: bytecode caches written, files in the page cache
        _process_ms(code)
    times: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(runs):  # interleaved, so drift weighs on every module alike
        for name, code in codes.items():
            times[name].append(_process_ms(code))
    result: dict[str, Any] = {
        "runs": runs,
        "target_ms": TARGET_MS,
        "startup_ms": round(statistics.median(times[BASELINE]), 1),
        "modules": {m: {"median_ms": round(statistics.median(times[m]), 1)} for m in modules},
    }
    return {**result, **ratios(result)}


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """Each module against the bare interpreter, and the slowest module: a pure function of
    the figures (``modules`` comes back with ``vs_startup`` and ``within_target`` added)."""
    modules: dict[str, dict[str, Any]] = {
        module: {
            **figures,
            "vs_startup": vs(figures["median_ms"], result["startup_ms"], digits=1),
            "within_target": figures["median_ms"] <= result["target_ms"],
        }
        for module, figures in result["modules"].items()
    }
    slowest = max(modules, key=lambda m: modules[m]["median_ms"])
    return {
        "modules": modules,
        "slowest_module": slowest,
        "slowest_import_ms": modules[slowest]["median_ms"],
        "slowest_import_vs_startup": modules[slowest]["vs_startup"],
        "all_within_target": all(f["within_target"] for f in modules.values()),
    }


def measure(args: Any) -> dict[str, Any]:
    """``bench imports`` with the command's arguments (``runs``)."""
    return run(runs=args.runs)


def report(result: dict[str, Any], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(result)
    lines = [f"cold import, whole process, median of {result['runs']} runs"]
    lines.append(f"  {'python -c pass':<22} {result['startup_ms']:7.1f} ms")
    for module, figures in result["modules"].items():
        verdict = "ok" if figures["within_target"] else "OVER"
        lines.append(
            f"  {'import ' + module:<22} {figures['median_ms']:7.1f} ms"
            f"  ({figures['vs_startup']}x the bare interpreter; {verdict} vs "
            f"{result['target_ms']:.0f} ms)"
        )
    return "\n".join(lines)


def main(args: Any) -> int:
    print(report(measure(args), as_json=args.json))
    return 0
