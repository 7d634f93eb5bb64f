"""Auto-reload for development that stops the server as production does.

When a source file changes, the server gets SIGTERM, so its websockets close with 1001 and
requests in flight finish (api/going_away.py), and then starts again with the new code.
hypercorn's own `--reload` stops its worker without a signal: listeners got 1011 after its
grace period. A server that exits by itself (a syntax error, say) is started again at the
next change, not in a loop.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from settings import PROJECT_DIR

SOURCES = (PROJECT_DIR / "bookapi", PROJECT_DIR / "settings.py", PROJECT_DIR / ".env")
STOP_SECONDS = 25  # a little over bookapi.serve's graceful timeout


def source_stamps(roots: Iterable[Path]) -> dict[Path, int]:
    """The modification time of every watched file: `.py` files below a folder, or the file."""
    stamps = {}
    for root in roots:
        files = root.rglob("*.py") if root.is_dir() else [root]
        for path in files:
            try:
                stamps[path] = path.stat().st_mtime_ns
            except FileNotFoundError:
                continue  # removed while we looked; the next look sees it gone
    return stamps


class ReloadingServer:
    """A server process, started again (after a SIGTERM) whenever a watched file changes."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        sources: Iterable[Path] = SOURCES,
        log_path: Path | None = None,
    ) -> None:
        self.argv = argv
        self.env = env
        self.sources = tuple(sources)
        self.log_path = log_path  # where its output goes; None: this process's
        self.stamps = source_stamps(self.sources)
        self.process = self._start()
        self.said_exit = False

    def _start(self) -> subprocess.Popen[bytes]:
        output = self.log_path.open("ab") if self.log_path is not None else None
        try:
            # A session of its own: Ctrl-C in the terminal reaches only us, and we stop the
            # server with SIGTERM (websockets told 1001), not the terminal with SIGINT.
            return subprocess.Popen(
                self.argv,
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
                start_new_session=True,
            )
        finally:
            if output is not None:
                output.close()

    def check(self) -> bool:
        """Restart if a watched file changed since the last check; True if it did."""
        stamps = source_stamps(self.sources)
        if stamps == self.stamps:
            if self.process.poll() is not None and not self.said_exit:
                print(
                    f"the server exited with {self.process.returncode}; waiting for a change",
                    flush=True,
                )
                self.said_exit = True
            return False
        changed = sorted(
            str(path.relative_to(PROJECT_DIR) if path.is_relative_to(PROJECT_DIR) else path)
            for path in stamps.keys() | self.stamps.keys()
            if stamps.get(path) != self.stamps.get(path)
        )
        more = " ..." if len(changed) > 3 else ""
        print(f"changed: {', '.join(changed[:3])}{more}; reloading", flush=True)
        self.stamps = stamps
        self.stop()
        self.process = self._start()
        self.said_exit = False
        return True

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it has not exited within STOP_SECONDS; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()
