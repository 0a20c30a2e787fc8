"""Large buffers straight from the operating system, so a long run's memory stays as flat as a short one's.

glibc's malloc serves blocks above its mmap threshold with their own mapping, returned to the system
when freed. Its threshold starts at 128 KiB but rises to the size of any such block freed, after which
the ~1 MiB chunks and slices a dump or restore passes along come from the heap (one per thread), which
fragments as the run goes on: peak RSS then grew with the database, e.g. 70 → 78 MiB from 100 MB to
1 GB for a PostgreSQL restore over two connections (benchmarks/README.md). Fixing the threshold keeps
the dynamic adjustment off.
"""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3
"""glibc's mallopt parameter number (malloc.h)."""
LARGE_BUFFER_BYTES = 128 * 1024
"""glibc's own starting threshold."""


def keep_large_buffers_off_the_heap() -> bool:
    """Fix the mmap threshold at `LARGE_BUFFER_BYTES`; whether it was (False where libc has no mallopt)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES))
