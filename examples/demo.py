"""`make demo`: the showcase. Until the providers land it runs the kernel example."""

from __future__ import annotations

import trio
from kernel_supervision import main

if __name__ == "__main__":
    trio.run(main)
