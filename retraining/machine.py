"""How this process uses the machine: its cores, its memory, and work kept
in flight."""

import collections
import ctypes
import itertools
import mmap
import os

import numpy as np

# TensorFlow reads an array fed to a session in place when its data starts
# on a boundary of this many bytes (EIGEN_MAX_ALIGN_BYTES, at most 64), and
# copies it at every run otherwise.
TENSORFLOW_ALIGNMENT = 64


def cpu_cores():
  """The number of cores this process may run on."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # Not on Linux.
    return os.cpu_count() or 1


def keep_freed_memory():
  """Asks glibc's malloc to keep freed memory for reuse, not return it.

  A run of the body makes large activations, and reading, folding and
  importing the graph makes copies as large as its weights. By default
  glibc maps each such block afresh and unmaps it when freed, so the same
  memory is page-faulted in again and again; kept, the graph loads sooner
  and peak memory stays the same. Does nothing on other C libraries.
  """
  try:
    mallopt = ctypes.CDLL('libc.so.6').mallopt
  except (OSError, AttributeError):
    return
  m_trim_threshold, m_mmap_max = -1, -4
  mallopt(m_mmap_max, 0)
  mallopt(m_trim_threshold, 2 ** 31 - 1)


def aligned_zeros(shape, dtype):
  """A C-ordered array of zeros in anonymous memory of its own.

  Its data starts on a page, so TensorFlow reads it in place when it is fed
  (numpy's own arrays start on a 16-byte boundary), and it is in small
  pages: numpy asks for huge pages for large arrays, and where the kernel
  must first compact memory to find them, the first writes into the array
  wait for that compaction. Its memory goes back to the system when it is
  freed.
  """
  dtype = np.dtype(dtype)
  count = int(np.prod(shape))
  memory = mmap.mmap(-1, max(count * dtype.itemsize, 1))
  return np.frombuffer(memory, dtype, count=count).reshape(shape)


def aligned(array):
  """`array` itself if TensorFlow can read it in place when it is fed,
  otherwise a copy it can: feed an array on every step only through this."""
  if array.flags.c_contiguous and array.ctypes.data % TENSORFLOW_ALIGNMENT == 0:
    return array
  copy = aligned_zeros(array.shape, array.dtype)
  copy[...] = array
  return copy


def map_ahead(pool, function, items, ahead):
  """Futures of function(item) for each item, in order, keeping `ahead` of
  them submitted to `pool` beyond the one handed out. The first `ahead` are
  submitted at once, before the first future is asked for."""
  items = iter(items)
  pending = collections.deque(
      pool.submit(function, item) for item in itertools.islice(items, ahead))

  def futures():
    while pending:
      future = pending.popleft()
      pending.extend(pool.submit(function, item)
                     for item in itertools.islice(items, 1))
      yield future
  return futures()
