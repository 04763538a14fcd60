"""Leak checks shared by the tests: live trio tasks, open threads."""

from __future__ import annotations

import threading

import trio


def live_tasks() -> list[trio.lowlevel.Task]:
    """Every task in the current trio run, walking the task tree from the root."""
    found: list[trio.lowlevel.Task] = []
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        found.append(task)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return found


def our_tasks() -> list[trio.lowlevel.Task]:
    """Live tasks running code of this package (actors, supervisors), not counting
    the fake wire servers of `abstractcore_actors.testing`, which tests run
    beside the runtime on purpose."""
    found = []
    for task in live_tasks():
        filename = getattr(task.coro, "cr_code", task.coro).co_filename
        if "abstractcore_actors" in filename and "/testing/" not in filename:
            found.append(task)
    return found


def extra_threads(before: set[int]) -> list[threading.Thread]:
    """Threads alive now that were not in `before` (ids), ignoring trio's idle cache."""
    return [
        t
        for t in threading.enumerate()
        if t.ident not in before and not t.name.startswith("Trio thread")
    ]
