"""A/B: this checkout's bookapi against another git revision's, side by side in one run.

    ./bootstrap.sh bench --compare REV [--seconds 8] [--connections 64] [--rounds 8]

Both are served as the image serves them (`python -m bookapi.serve`, one worker, the same
virtualenv) on one database and Redis, warmed, then loaded by id in interleaved rounds
(A B, B A, ...), so the noise of a shared machine falls on both alike. Prints each side's
rounds and medians (req/s, CPU per request) and the ratio of the medians: the number to
quote for a change to the request path.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.load import LoadResult, measure, warm_up
from bench.processes import Served, start_bookapi
from settings import PROJECT_DIR

BY_ID = "GET /books/{id}"


@contextmanager
def checked_out(revision: str) -> Iterator[Path]:
    """`revision` in a temporary git worktree, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="bookapi-compare-")) / "tree"
    git = ["git", "-C", str(PROJECT_DIR)]
    subprocess.run([*git, "worktree", "add", "--detach", str(folder), revision], check=True)
    try:
        yield folder
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(folder)], check=False)


def label(tree: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()[:60] or str(tree)


def rounds(
    sides: list[Served], ids_file: Path, seconds: int, connections: int, count: int
) -> dict[str, list[LoadResult]]:
    results: dict[str, list[LoadResult]] = {side.name: [] for side in sides}
    for round_number in range(count):
        order = sides if round_number % 2 == 0 else list(reversed(sides))
        for side in order:
            results[side.name].append(measure(side, BY_ID, None, seconds, connections, ids_file))
    return results


def served_in_rounds(
    starters: list[Callable[[], Served]],
    ids_file: Path,
    seconds: int,
    connections: int,
    count: int,
) -> dict[str, list[LoadResult]]:
    """Start every side, warm each, load them by id in interleaved rounds, stop them all;
    each side's rounds by its name."""
    sides: list[Served] = []
    try:
        for start in starters:  # inside the try: one that fails to start stops the others
            sides.append(start())
        for side in sides:
            warm_up(side, ids_file, connections)
        return rounds(sides, ids_file, seconds, connections, count)
    finally:
        for side in sides:
            side.stop()


def compare(
    revision: str,
    env: dict[str, str],
    ids_file: Path,
    logs: Path,
    seconds: int,
    connections: int,
    count: int,
) -> tuple[list[str], int]:
    """Serve this checkout and `revision` side by side and load them; the report's lines
    and the number of failed requests."""
    with checked_out(revision) as other_tree:
        starters = [
            lambda: start_bookapi(env, logs, name="this"),
            lambda: start_bookapi(env, logs, tree=other_tree, name="other"),
        ]
        results = served_in_rounds(starters, ids_file, seconds, connections, count)
        names = {"this": label(PROJECT_DIR), "other": label(other_tree)}
    lines = [f"A/B {BY_ID}, {connections} connections, {count} interleaved rounds of {seconds} s"]
    medians, failed = median_lines(results, names, lines)
    (this_rps, this_cpu), (other_rps, other_cpu) = medians["this"], medians["other"]
    ratios = f"{this_rps / other_rps:.2f}x req/s, {this_cpu / other_cpu:.2f}x CPU per request"
    lines.append(f"  this/other: {ratios}")
    return lines, failed


def median_lines(
    results: dict[str, list[LoadResult]], names: dict[str, str], lines: list[str]
) -> tuple[dict[str, tuple[float, float]], int]:
    """Each side's rounds and medians appended to `lines`; the medians (req/s, CPU µs per
    request) by side, and the failed requests of all rounds."""
    medians = {}
    failed = 0
    for name, runs in results.items():
        rps = statistics.median(run.rps for run in runs)
        cpu = statistics.median(run.cpu_us_per_request for run in runs)
        failures = sum(run.failures for run in runs)
        failed += failures
        medians[name] = (rps, cpu)
        lines.append(
            f"  {name:5} {names[name]}: median {rps:,.0f} req/s, {cpu:,.0f} µs CPU/req"
            f" (rounds {' '.join(f'{run.rps:,.0f}' for run in runs)}; failures {failures})"
        )
    return medians, failed
