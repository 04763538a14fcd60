"""`ToolContext`: what a running tool may know and do about its own call."""

from __future__ import annotations

import attrs
import trio

from ..errors import ValidationError
from ..events import Emitter, ToolProgress


@attrs.define(eq=False)
class ToolContext:
    """Handed to a tool that declares a parameter annotated `ToolContext`.

    That parameter is not part of the tool's JSON schema: the runner fills it
    in. `call_id` and `tool` say which call this is; `progress()` reports
    progress as a `ToolProgress` event.

    To call such a tool directly (in a test), pass `ToolContext(call_id="t",
    tool="name")`: without an emitter, `progress` does nothing.
    """

    call_id: str
    tool: str
    emitter: Emitter | None = None
    # The trio run the call belongs to, so that `progress` works from any
    # thread (a sync tool runs in a worker thread; it may start its own).
    _token: trio.lowlevel.TrioToken | None = attrs.field(default=None, alias="token")
    # Set when the call has ended: later progress reports would arrive after
    # ToolCompleted and mislead a UI, so they are ignored.
    finished: bool = False

    def progress(self, message: str, fraction: float | None = None) -> None:
        """Report progress: `message` for people, `fraction` in [0, 1] when known.

        Never waits (a lossless event subscriber may go over its bound by
        one). Works from an async tool and from a sync tool's worker thread.
        Raises `ValidationError` for a fraction outside [0, 1].
        """
        if fraction is not None and not (
            isinstance(fraction, int | float)
            and not isinstance(fraction, bool)
            and 0 <= fraction <= 1
        ):
            raise ValidationError(f"progress fraction must be a number in [0, 1], not {fraction!r}")
        if self.emitter is None or self.finished:
            return
        if trio.lowlevel.in_trio_run():
            self._emit(message, fraction)
        elif self._token is not None:
            trio.from_thread.run_sync(self._emit, message, fraction, trio_token=self._token)

    def _emit(self, message: str, fraction: float | None) -> None:
        if self.emitter is not None and not self.finished:
            self.emitter.emit_nowait(
                ToolProgress,
                call_id=self.call_id,
                tool=self.tool,
                message=message,
                fraction=None if fraction is None else float(fraction),
            )
