"""The errors a study run raises for the study as a whole (a trial's own failure is data)."""

from __future__ import annotations


class AllTrialsFailedError(RuntimeError):
    """Every trial of a study failed: there is no best trial."""


class TooManyFailuresError(RuntimeError):
    """A run stopped after too many consecutive failed trials."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run. Its running trials were re-queued, so running the study
    again resumes it; ``complete`` is the number of complete trials it holds."""

    def __init__(self, complete: int):
        super().__init__(f"the run was interrupted with {complete} complete trials")
        self.complete = complete
