"""Which client holds the benchmark's websocket listeners: the Go one (`bench/listener_client`)
where `go` is on PATH, as it is wherever FerretDB is built, else the `websockets` library
in the benchmark's own process. `--listener-client` picks; the report says which ran.

Measured side by side on the bare floor (10,000 listeners, two Granian workers, this 2-core
machine): the Go client saw a p99 spread of `finished` of 235 and 343 ms in two runs where
the Python one saw 824 and 662 ms. The Python client's CPU is the server's loss."""

from __future__ import annotations

from pathlib import Path

from bench.fanout import PythonWave
from bench.go_listeners import GoWave, build_go_listeners

Wave = GoWave | PythonWave


def listener_client(wanted: str) -> Path | None:
    """The Go client's binary for `go` or `auto` (built now, before anything is measured),
    None for the Python client (`python`, or `auto` without Go)."""
    if wanted == "python":
        return None
    binary = build_go_listeners()
    if binary is None and wanted == "go":
        raise SystemExit("--listener-client go needs `go` on PATH to build bench/listener_client")
    return binary


def client_name(binary: Path | None) -> str:
    return "Go (bench/listener_client)" if binary else "Python (websockets)"


async def open_wave(url: str, token: str, count: int, binary: Path | None, timeout: float) -> Wave:
    """`count` listeners on `url`, each with its snapshot by the time this returns."""
    wave: Wave = (
        GoWave(binary, url, token, count, timeout)
        if binary
        else PythonWave(url, token, count, timeout)
    )
    await wave.open()
    return wave
