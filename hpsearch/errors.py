"""The errors a user catches: a spec that cannot be used, a storage out of reach, a
study run that failed or stopped as a whole (a trial's own failure is data), a trial
past its time limit. ``hpsearch`` exports each of them."""

from __future__ import annotations


class SpecError(ValueError):
    """A spec file that cannot be used; the message names the file and the key."""


class StorageUnreachableError(ConnectionError):
    """The storage's database server stayed unreachable for the whole retry time."""

    def __init__(self, url: str, reason: str):
        """``url`` as it may be shown (without a password) and why it was unreachable."""
        super().__init__(f"the storage {url} is unreachable: {reason}")


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


class DiskFullError(OSError):
    """A write of the study's storage or files failed for want of space (a full disk,
    a quota, a file-size limit) or with a disk I/O error. The run stopped and
    re-queued its running trials: free some space and run the study again."""


class StudyDeletedError(LookupError):
    """The study was deleted from its storage (``hpsearch delete``) while a run of it went on."""


class TrialTimeoutError(RuntimeError):
    """A trial ran longer than the study's ``trial_timeout``."""
