"""``python -m studies.benchmarks``: epoch times, GEMM peak, search throughput (``--help`` for options)."""

from __future__ import annotations

from studies.benchmarks.epoch import main

raise SystemExit(main())
