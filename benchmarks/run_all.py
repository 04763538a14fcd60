"""Run every benchmark script in this folder, one after the other."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent

if __name__ == "__main__":
    only = set(sys.argv[1:])
    for script in sorted(HERE.glob("*.py")):
        if (
            script.name == "run_all.py"
            or script.name.startswith("_")
            or (only and script.stem not in only)
        ):
            continue
        print(f"== {script.stem} ==", flush=True)
        runpy.run_path(str(script), run_name="__main__")
        print(flush=True)
