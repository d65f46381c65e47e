"""Memory for big run histories, kept for the next run once its arrays are gone.

A hand-written stand-in for an allocator cache, kept because a measurement says so
(bench/engine.py, issue #13 item 8, on this 2-CPU virtual machine): a history of
65,536 runs x 101 steps (106 MB) taken fresh from ``np.empty`` for every
``simulate`` costs its first-touch page faults, 0.1-0.2 ms per step when the
memory is at hand, but 3.7-5.4 ms per step (system time; the same number of faults)
when the system took the pages back meanwhile: the machine's balloon reports freed
2 MB blocks to the host (virtio-balloon free page reporting), which then faults
them in again one by one. Reused memory has no page faults at all; with it,
12 of 12 runs took 0.96-1.39 ms per step against 0.99-6.65 ms without (one core
busy, torch running in between).

Only arrays of at least :data:`MIN_BYTES` come from here (smaller ones: the C
allocator keeps them anyway). Memory returns when the last array or view of it is
gone, and is given back to the system when unused for :data:`KEEP_SECONDS`, or at
once beyond :data:`KEEP_BYTES`. The process's allocator is not changed.
"""

from __future__ import annotations

import collections
import ctypes
import mmap
import threading
import time
import weakref

import numpy as np

#: arrays smaller than this come from ``np.empty``
MIN_BYTES = 4 << 20
#: the most memory kept for reuse while unused
KEEP_BYTES = 512 << 20
#: seconds unused after which kept memory is given back to the system
KEEP_SECONDS = 10.0

_lock = threading.Lock()
#: guards the timer only (reentrant: a finalizer may run inside its own thread's code)
_timer_lock = threading.RLock()
#: memory kept for reuse: [region, size, when it became unused]
_kept: list[list] = []
#: regions whose arrays are gone, appended by finalizers (any thread, any time)
_returned: collections.deque = collections.deque()
_timer: threading.Timer | None = None


class _Lease:
    """Owner of one array's memory: NumPy keeps it as the base of the array and of
    every view; when the last is gone, its region returns for reuse."""

    def __init__(self, region: mmap.mmap, shape: tuple[int, ...]) -> None:
        self.region = region
        anchor = ctypes.c_char.from_buffer(region)
        address = ctypes.addressof(anchor)
        del anchor  # (the address stays valid while the region is mapped)
        self.__array_interface__ = {"data": (address, False), "shape": shape,
                                    "typestr": "<f8", "version": 3}


def empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float64 array of ``shape``, as ``np.empty(shape)``; big ones
    in memory reused from earlier histories when some fits."""
    shape = tuple(int(s) for s in shape)
    nbytes = 8 * int(np.prod(shape, dtype=np.int64))
    if nbytes < MIN_BYTES or nbytes > KEEP_BYTES:
        return np.empty(shape)
    region = _take(nbytes)
    lease = _Lease(region, shape)
    array = np.asarray(lease)
    weakref.finalize(lease, _on_return, region).atexit = False  # (at exit: nothing to keep)
    return array


def _on_return(region: mmap.mmap) -> None:
    """A finalizer's: the arrays of ``region`` are gone (no lock taken but the timer's)."""
    _returned.append((region, len(region)))
    _ensure_timer()


def _ensure_timer() -> None:
    global _timer
    with _timer_lock:
        if _timer is None:
            _timer = threading.Timer(KEEP_SECONDS, _give_back_idle)
            _timer.daemon = True
            _timer.start()


def _take(nbytes: int) -> mmap.mmap:
    """The smallest kept region of at least ``nbytes`` and at most twice that, or a
    new one."""
    with _lock:
        _collect()
        fits = [entry for entry in _kept if nbytes <= entry[1] <= 2 * nbytes]
        if fits:
            best = min(fits, key=lambda entry: entry[1])
            _kept.remove(best)
            return best[0]
    region = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:  # as NumPy does for big arrays: transparent huge pages, fewer faults
        region.madvise(mmap.MADV_HUGEPAGE)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not Linux
        pass
    return region


def _collect() -> None:
    """Move returned regions to the kept ones (under the lock); beyond
    KEEP_BYTES the oldest are given back (a timer gives back the idle ones)."""
    now = time.monotonic()
    while _returned:
        region, size = _returned.popleft()
        _kept.append([region, size, now])
    total = sum(entry[1] for entry in _kept)
    _kept.sort(key=lambda entry: entry[2])
    while _kept and total > KEEP_BYTES:
        region, size, _ = _kept.pop(0)
        total -= size
        region.close()


def _give_back_idle() -> None:
    """The timer's: give back what was unused for KEEP_SECONDS; look again later
    for the rest."""
    global _timer
    with _timer_lock:
        _timer = None
    with _lock:
        _collect()
        now = time.monotonic()
        for entry in [e for e in _kept if now - e[2] >= KEEP_SECONDS]:
            _kept.remove(entry)
            entry[0].close()
        again = bool(_kept)
    if again:
        _ensure_timer()


def kept_bytes() -> int:
    """Bytes of memory kept for reuse now (arrays gone, memory not yet given back)."""
    with _lock:
        _collect()
        return sum(entry[1] for entry in _kept)


def give_back() -> None:
    """Give every kept region back to the system now (and stop the timer)."""
    global _timer
    with _timer_lock:
        if _timer is not None:
            _timer.cancel()
            _timer = None
    with _lock:
        _collect()
        while _kept:
            _kept.pop()[0].close()
