"""How a study is run, declared once.

Each run option has here its ``Study.run`` keyword and default, its key in a
spec's ``[study]`` table (if a spec sets it) with the types a spec may give, and
its ``hpsearch run`` flag (if the command line sets it) with its help. ``spec.py``
builds its run keys and the CLI its ``run`` and ``confirm`` flags from these
tables; ``Study.run`` keeps its explicit signature for IDEs, and a test holds
that signature's defaults equal to the ones here. The confirm options are
``Study.confirm``'s, declared the same way.

This module imports nothing of hpsearch: the command line reads it at start.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from inspect import Parameter
from typing import Any

REQUIRED = Parameter.empty  # the default of a keyword that has none
DEFAULT_TRIALS = 20  # Study.run has no default budget; a spec without one runs this many


@dataclass(frozen=True)
class RunOption:
    """One option of ``Study.run`` (or ``Study.confirm``)."""

    keyword: str  # the method's keyword
    default: Any  # the method's default (REQUIRED: none)
    key: str | None = None  # the spec's [study] key (None: a spec cannot set it)
    types: tuple = ()  # what a spec may give...
    what: str = ""  # ...in words, for its errors
    flag: str | None = None  # the command-line option (None: none)
    help: str = ""
    cli_type: type | None = None  # what argparse converts the flag's text to

    @property
    def spec_default(self) -> Any:
        """The value a spec without this key runs with."""
        return DEFAULT_TRIALS if self.default is REQUIRED else self.default


_N_JOBS = RunOption("n_jobs", 1, "jobs", (int,), "an integer", "--jobs",
                    "parallel worker processes", int)
_PROGRESS = RunOption("progress", True, flag="--no-progress", help="hide the progress bar")

# Study.run's keywords, in its order.
RUN_OPTIONS: tuple[RunOption, ...] = (
    RunOption("n_trials", REQUIRED, "trials", (int,), "an integer", "--trials",
              "the study's total number of trials", int),
    _N_JOBS,
    RunOption("timeout", None, "timeout", (numbers.Real,), "a number of seconds", "--timeout",
              "start no trial after this many seconds", float),
    RunOption("backend", "loky", "backend", (str,), "a string", "--backend",
              "loky (worker processes, the default), dask, ray or another joblib backend"),
    RunOption("backend_options", None),  # --scheduler, for the dask backend, gives one
    RunOption("blas_threads", 1),
    RunOption("catch", True),
    RunOption("max_consecutive_failures", None, "max_consecutive_failures", (int,),
              "an integer"),
    _PROGRESS,
)

# Study.confirm's keywords that the command line sets, in its order.
CONFIRM_OPTIONS: tuple[RunOption, ...] = (
    RunOption("top", 5, flag="--top", help="configurations to confirm"),
    RunOption("repeats", 5, flag="--repeats", help="trainings of each"),
    _N_JOBS,
    _PROGRESS,
)


def spec_options() -> dict[str, RunOption]:
    """The run options a spec sets, by their [study] key."""
    return {o.key: o for o in RUN_OPTIONS if o.key is not None}
