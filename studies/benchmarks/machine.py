"""How busy the machine is: CPU used by other processes while a worker runs.

On a shared machine another job can take a core in the middle of a
measurement. The parent reads the machine's busy CPU time (Linux
``/proc/stat``) around each worker and subtracts the worker's own CPU time
(``RUSAGE_CHILDREN``): what is left is the load of other processes, in cores.
Elsewhere the probes return None and no check is made.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

_STAT = Path("/proc/stat")


def busy_seconds() -> float | None:
    """CPU seconds all processes (and the hypervisor's steal) used since boot, or None."""
    try:
        fields = _STAT.read_text(encoding="ascii").split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU seconds used by this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class OtherLoad:
    """Context manager: ``.cores`` is the mean CPU load of other processes during the block.

    Children that finish inside the block count as ours, not as other load.
    """

    cores: float | None = None

    def __enter__(self) -> OtherLoad:
        self._busy, self._ours, self._wall = busy_seconds(), children_cpu_seconds(), time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        busy, wall = busy_seconds(), time.monotonic() - self._wall
        if busy is None or self._busy is None or wall <= 0:
            return
        ours = children_cpu_seconds() - self._ours
        self.cores = max(0.0, (busy - self._busy - ours) / wall)


def wait_until_quiet(threshold: float, max_wait: float, interval: float = 1.0) -> float | None:
    """Wait (up to ``max_wait`` seconds) for a second in which others use < ``threshold`` cores.

    Returns the last load seen, or None where it cannot be measured.
    """
    deadline = time.monotonic() + max_wait
    while True:
        with OtherLoad() as load:
            time.sleep(interval)
        if load.cores is None or load.cores < threshold or time.monotonic() >= deadline:
            return load.cores
