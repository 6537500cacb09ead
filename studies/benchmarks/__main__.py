"""``python -m studies.benchmarks``: the epoch-time benchmark (``--help`` for options)."""

from __future__ import annotations

from studies.benchmarks.epoch import main

raise SystemExit(main())
