"""The helper scripts that fault-injection tests hand to real processes: the fault
plugin a study loads and the driver scripts run as separate processes."""

from __future__ import annotations

from pathlib import Path

HELPERS = Path(__file__).parent
FAULTS = str(HELPERS / "faults.py")
DRIVER = str(HELPERS / "driver.py")
