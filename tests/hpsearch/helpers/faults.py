"""A plugin that registers activations which fail for real, for robustness tests.

Loaded in each worker process through ``plugins=[...]``: "raise" raises,
"exit" kills its worker with os._exit, "segfault" sends itself SIGSEGV,
"killed" receives SIGKILL (what an OOM kill looks like),
"slow" sleeps a little per batch so that a study can be interrupted mid-run.
"""

from __future__ import annotations

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


class Slow(ReLU):
    name = "slow"

    def forward(self, z, out):
        time.sleep(0.01)
        return super().forward(z, out)


for cls in (Raise, Exit, Segfault, Killed, Slow):
    netcore.ACTIVATIONS[cls.name] = cls
