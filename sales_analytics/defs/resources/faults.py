"""Test hook for crash tests: pause at a named point so a test can kill the run there.

Inactive unless SALES_ANALYTICS_FAULT_POINT names the point; the fault-injection tests set it in
the subprocess they kill, together with SALES_ANALYTICS_FAULT_READY_FILE, which announces arrival.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

FAULT_POINT = "SALES_ANALYTICS_FAULT_POINT"
FAULT_READY_FILE = "SALES_ANALYTICS_FAULT_READY_FILE"


def pause_here(point: str) -> None:
    if os.environ.get(FAULT_POINT) != point:
        return
    Path(os.environ[FAULT_READY_FILE]).write_text(point)
    while True:
        time.sleep(3600)
