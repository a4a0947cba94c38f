"""Writing files so that a kill at any moment leaves the old or the new file,
and reading them with a one-line error."""

import contextlib
import os
import tempfile

from retraining import UserError

TEMP_SUFFIX = '.tmp'
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(path, mode='wb', durable=True):
  """Yields a file object whose content replaces `path` only when complete.

  The data goes to a temporary file in the same folder, is flushed to disk
  (unless not `durable`) and renamed over `path`; on any error (or a kill)
  `path` keeps its old content and the temporary file is removed (or left
  under a `.tmp` name that nothing reads). Without the flush, a crash of the
  whole machine may leave `path` empty: fine for files checked when read.
  """
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  fd, tmp_path = tempfile.mkstemp(
      dir=folder, prefix='.' + os.path.basename(path) + '.', suffix=TEMP_SUFFIX)
  encoding = None if 'b' in mode else 'utf-8'
  try:
    with os.fdopen(fd, mode, encoding=encoding) as f:
      yield f
      if durable:
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes it private.
    os.replace(tmp_path, path)
  except BaseException:
    with contextlib.suppress(OSError):
      os.remove(tmp_path)
    raise


def remove_stale_temp_files(folder):
  """Deletes what writes in `folder` that a killed run never finished left."""
  for entry in os.scandir(folder):
    if entry.name.startswith('.') and entry.name.endswith(TEMP_SUFFIX):
      os.remove(entry.path)


def read_bytes(path):
  try:
    with open(path, 'rb') as f:
      return f.read()
  except OSError as e:
    raise UserError('cannot read %s (%s)' % (path, e.strerror))


def write_bytes(path, data):
  with atomic_write(path, 'wb') as f:
    f.write(data)


def write_text(path, text, durable=True):
  with atomic_write(path, 'w', durable) as f:
    f.write(text)


def beside(path, suffix):
  """workspace/flowers_graph.pb -> workspace/flowers_graph<suffix>."""
  return os.path.splitext(path)[0] + suffix


def holds(path, data):
  """Whether the file at `path` holds exactly `data`."""
  try:
    if os.path.getsize(path) != len(data):
      return False
    with open(path, 'rb') as f:
      return f.read() == data
  except OSError:
    return False


def is_newer(path, than_path):
  """Whether `path` exists and was written after `than_path`."""
  try:
    return os.stat(path).st_mtime_ns > os.stat(than_path).st_mtime_ns
  except OSError:
    return False
