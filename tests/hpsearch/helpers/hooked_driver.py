"""driver.py with a fault planted in the driver process, chosen by HPSEARCH_TEST_HOOK.

"kill-after-requeue": SIGKILL right after the first re-queued trial is created,
before the claim writes the shortened re-queue list.
"elsewhere": the driver names itself ``otherhost:<pid>``, so other drivers on
this machine can judge it only by its heartbeat.
"interrupt-during-shutdown": a second Ctrl-C lands while the run shuts down after
the first, at the worst moment.

Usage: as driver.py.
"""

from __future__ import annotations

import os
import signal

import driver

from hpsearch.execution import loop
from hpsearch.storages import records


def _kill_after_requeue() -> None:
    requeued = loop.RunLoop._requeued

    def requeued_then_killed(self, entry):
        requeued(self, entry)
        os.kill(os.getpid(), signal.SIGKILL)

    loop.RunLoop._requeued = requeued_then_killed


def _elsewhere() -> None:
    records.owner_tag = lambda: f"otherhost:{os.getpid()}"


def _interrupt_during_shutdown() -> None:
    shut_down = loop.RunLoop._shut_down

    def interrupted_again(self, exc):
        signal.raise_signal(signal.SIGINT)
        shut_down(self, exc)

    loop.RunLoop._shut_down = interrupted_again


HOOKS = {"kill-after-requeue": _kill_after_requeue, "elsewhere": _elsewhere,
         "interrupt-during-shutdown": _interrupt_during_shutdown}

if __name__ == "__main__":
    HOOKS[os.environ["HPSEARCH_TEST_HOOK"]]()
    driver.main()
