"""The garbage collector paused while the program starts (no Qt, no imports: the
program pauses it before importing anything heavy)."""

from __future__ import annotations

import gc

#: whether :func:`pause_gc` stopped the garbage collector (and nobody else had)
_paused = False


def pause_gc() -> None:
    """Stop the garbage collector while the program imports and builds its window
    up to the first paint: those objects live on, and the collections they set off
    (9 of the 167 up to the first paint come while the window is built; most come
    with the imports, as in a bare pyqtgraph window) found nothing to free.
    :func:`resume_gc` starts it again."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_gc() -> None:
    """Start the garbage collector again if :func:`pause_gc` stopped it (idempotent)."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()
