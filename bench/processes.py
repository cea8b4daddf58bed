"""Worker processes in the benchmarks: their peak memory, and stopping them warm."""

from __future__ import annotations

import os
import signal
import subprocess
import threading


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        found.append(parent)
        try:
            for tid in os.listdir(f"/proc/{parent}/task"):
                with open(f"/proc/{parent}/task/{tid}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            pass
    return found


def _hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssWatch:
    """Polls VmHWM of the given processes and all their descendants."""

    def __init__(self, roots: list[int], every_s: float = 0.1):
        self.roots, self.every_s = roots, every_s
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def poll(self) -> None:
        for root in self.roots:
            for pid in _descendants(root):
                kib = _hwm_kib(pid)
                if kib:
                    self.peak[pid] = max(kib, self.peak.get(pid, 0))

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.poll()

    def __enter__(self) -> "RssWatch":
        self.poll()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()


def stop_all(processes: list[subprocess.Popen]) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
