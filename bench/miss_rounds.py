"""The miss path against FastAPI + Motor in interleaved rounds, both servers up at once on
one database: bookapi with its read cache off (`bookapi-nocache`, one query per miss as on
FerretDB) and the peer, loaded by id in turn (A B, B A, ...) as `--compare` loads two
revisions. The per-server stage loads each server minutes apart, and on this shared machine
that one-off ratio of CPU per miss moved from 0.64x to 1.06x between runs of the same code;
the median of rounds taken side by side is the number the miss-path goal is quoted from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.compare import BY_ID, median_lines, served_in_rounds
from bench.processes import Served

Starter = Callable[[dict[str, str], Path], Served]
SIDES = ("bookapi-nocache", "fastapi")


def interleaved_misses(
    starters: dict[str, Starter],
    env: dict[str, str],
    ids_file: Path,
    logs: Path,
    seconds: int,
    connections: int,
    count: int,
) -> tuple[list[str], int]:
    """The report's lines and the failed requests of every round."""

    def starter(name: str) -> Callable[[], Served]:
        def start() -> Served:
            served = starters[name](env, logs)
            served.name = name  # as --servers names it: the rounds are kept by name
            return served

        return start

    results = served_in_rounds(
        [starter(name) for name in SIDES], ids_file, seconds, connections, count
    )
    lines = [
        f"miss path, interleaved: {BY_ID}, {connections} connections, "
        f"{count} rounds of {seconds} s each"
    ]
    names = {"bookapi-nocache": "(no read cache)", "fastapi": "(+ Motor, uvicorn)"}
    medians, failed = median_lines(results, names, lines)
    (mine_rps, mine_cpu), (peer_rps, peer_cpu) = medians["bookapi-nocache"], medians["fastapi"]
    lines.append(
        f"  miss path (bookapi-nocache) {BY_ID}, medians of interleaved rounds: "
        f"CPU/req {mine_cpu / peer_cpu:.2f}x, req/s {mine_rps / peer_rps:.2f}x FastAPI + Motor's"
    )
    return lines, failed
