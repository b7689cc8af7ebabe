"""`make dashboard`: print where the dashboard file is, and open it when there is a desktop."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from sales_analytics.core.settings import Settings, SettingsError


def desktop_opener() -> str | None:
    """xdg-open on a Linux desktop, open on macOS; None on a headless machine."""
    if sys.platform == "darwin":
        return shutil.which("open")
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return shutil.which("xdg-open")
    return None


def main() -> int:
    try:
        path = Settings.from_env().dashboard_path
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not path.exists():
        print(f"No dashboard at {path} yet: `make run` builds it.", file=sys.stderr)
        return 1
    print(path)
    opener = desktop_opener()
    if opener:
        subprocess.Popen(
            [opener, str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
