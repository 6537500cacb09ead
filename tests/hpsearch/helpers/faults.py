"""A plugin that registers activations which fail for real, for robustness tests.

Loaded in each worker process through ``plugins=[...]``: "raise" raises,
"exit" kills its worker with os._exit, "segfault" sends itself SIGSEGV,
"killed" receives SIGKILL (what an OOM kill looks like),
"nullread" reads address 0 (a real segmentation fault from native code),
"slow" sleeps a little per batch so that a study can be interrupted mid-run,
"stuck" sleeps 30 s inside one batch, and "stubborn" also swallows the
exception that is meant to stop it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time

import netcore
from netcore.activations import ReLU


class Raise(ReLU):
    name = "raise"

    def forward(self, z, out):
        raise RuntimeError("injected failure in forward")


class Exit(ReLU):
    name = "exit"

    def forward(self, z, out):
        os._exit(3)


class Segfault(ReLU):
    name = "segfault"

    def forward(self, z, out):
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(5)


class Killed(ReLU):
    """The worker is killed from outside its control, as the OOM killer does."""

    name = "killed"

    def forward(self, z, out):
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(5)


class NullRead(ReLU):
    name = "nullread"

    def forward(self, z, out):
        ctypes.string_at(0)


class Stuck(ReLU):
    name = "stuck"

    def forward(self, z, out):
        time.sleep(30)
        return super().forward(z, out)


class Stubborn(ReLU):
    """A trial that cannot be stopped from inside Python: only its process can end."""

    name = "stubborn"

    def forward(self, z, out):
        while True:
            with contextlib.suppress(Exception):  # swallowing the stop request is the fault
                time.sleep(30)


class Slow(ReLU):
    name = "slow"

    def forward(self, z, out):
        time.sleep(0.01)
        return super().forward(z, out)


for cls in (Raise, Exit, Segfault, Killed, NullRead, Stuck, Stubborn, Slow):
    netcore.ACTIVATIONS[cls.name] = cls
