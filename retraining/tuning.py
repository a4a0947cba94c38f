"""How this process uses the machine: its cores and freed memory."""

import ctypes
import os


def cpu_cores():
  """The number of cores this process may run on."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # Not on Linux.
    return os.cpu_count() or 1


def keep_freed_memory():
  """Asks glibc's malloc to keep freed memory for reuse, not return it.

  A run of the body has activations of tens of MB, and reading, folding and
  importing the 95 MB graph makes copies as large. By default glibc maps
  each such block afresh and unmaps it when freed, so the same memory is
  page-faulted in again and again; kept, the graph loads sooner and peak
  memory stays the same. Does nothing on other C libraries.
  """
  try:
    mallopt = ctypes.CDLL('libc.so.6').mallopt
  except (OSError, AttributeError):
    return
  m_trim_threshold, m_mmap_max = -1, -4
  mallopt(m_mmap_max, 0)
  mallopt(m_trim_threshold, 2 ** 31 - 1)
