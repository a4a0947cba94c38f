"""One retrain.py run at a time on one set of outputs: the graph, its labels
and its .tflite are always written by the same run.

The lock is a small file beside the output graph, locked with the operating
system's own file locks (fcntl on Linux and macOS, msvcrt on Windows): the
system releases it when the process ends however it ends, so a killed run
never leaves a stale lock behind. The file itself stays, empty: removing it
while another run waits on it would let a third run take a second lock.
"""

import contextlib
import os
import time

from retraining import UserError, log, warn

# How often a waiting run on Windows tries the lock again (seconds): msvcrt
# has no call that waits.
WINDOWS_RETRY_PAUSE = 1.0

try:
  import fcntl
except ImportError:  # Windows
  fcntl = None
  import msvcrt


def lock_path(output_graph):
  """workspace/flowers_graph.pb -> workspace/.flowers_graph.pb.lock"""
  folder, name = os.path.split(os.path.abspath(output_graph))
  return os.path.join(folder, '.%s.lock' % name)


def check_output_paths(flag_paths):
  """Refuses output paths ({flag: path}) that name a folder."""
  for flag, path in flag_paths.items():
    if os.path.isdir(path):
      raise UserError('--%s=%s is a folder: give the path of a file (in it, '
                      'say)' % (flag, path))


@contextlib.contextmanager
def exclusive_lock(output_graph):
  """Holds the lock of `output_graph`'s outputs for the block; waits, with
  one line, while another run holds it. Raises UserError where the graph's
  folder cannot take a file."""
  path = lock_path(output_graph)
  try:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
  except OSError as e:
    raise UserError('cannot write in the folder of %s (%s): make it writable, '
                    'or give --output_graph and --output_labels elsewhere'
                    % (output_graph, e.strerror or e))
  try:
    try:
      if not try_lock(fd):
        log('Another retrain.py is writing %s (it holds %s); waiting for it '
            'to finish' % (output_graph, path))
        wait_for_lock(fd)
    except OSError as e:  # A file system without locks (some network ones).
      warn('cannot lock %s (%s): a second retrain.py run at once on these '
           'outputs could mix its files with this one\'s' % (path, e.strerror))
    yield
  finally:
    os.close(fd)  # Releases the lock.


def try_lock(fd):
  """Takes the lock of the open lock file `fd` if free; whether it did."""
  if fcntl:
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      return False
    return True
  try:
    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
  except OSError:  # Held by another process: EACCES or EDEADLOCK.
    return False
  return True


def wait_for_lock(fd):
  if fcntl:
    fcntl.flock(fd, fcntl.LOCK_EX)
    return
  while not try_lock(fd):
    time.sleep(WINDOWS_RETRY_PAUSE)
