"""Writing files so that a kill at any moment leaves the old or the new file,
and reading them with a one-line error."""

import contextlib
import hashlib
import os
import secrets
import sys
import time

from retraining import UserError

TEMP_SUFFIX = '.tmp'
# A temporary name is '.' + this many hex digits + TEMP_SUFFIX, whatever the
# target's name: a photo whose name is near the file system's limit still
# gets its cache file, and a path near Windows's limit is not lengthened.
TEMP_DIGITS = 8
# Windows refuses to replace a file another program holds open (predict.py
# reading the .tflite, an antivirus scan): tries, and seconds between them.
REPLACE_TRIES = 10
REPLACE_PAUSE = 0.5


def temp_path_in(folder):
  return os.path.join(folder, '.%s%s' % (secrets.token_hex(TEMP_DIGITS // 2),
                                         TEMP_SUFFIX))


def create_temp_file(path):
  """(fd, temporary path) of a new file in `path`'s folder."""
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  while True:
    tmp_path = temp_path_in(folder)
    try:
      return os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                     getattr(os, 'O_BINARY', 0), 0o666), tmp_path
    except FileExistsError:
      continue


@contextlib.contextmanager
def atomic_writes(paths, mode='wb', durable=True):
  """Yields one file object per path; their contents replace the `paths`
  only when all are complete, else none does.

  The data goes to temporary files in the same folders, is flushed to disk
  (unless not `durable`) and renamed over the paths, in order; on any error
  (or a kill) every path keeps its old content and the temporary files are
  removed (or left under `.tmp` names that nothing reads). Without the
  flush, a crash of the whole machine may leave a path empty: fine for
  files checked when read.
  """
  encoding = None if 'b' in mode else 'utf-8'
  temps = []
  try:
    for path in paths:
      fd, tmp_path = create_temp_file(path)
      temps.append((os.fdopen(fd, mode, encoding=encoding), tmp_path))
    yield [f for f, _ in temps]
    for f, _ in temps:
      f.flush()
      if durable:
        os.fsync(f.fileno())
      f.close()
    for (_, tmp_path), path in zip(temps, paths):
      replace(tmp_path, path)
  except BaseException:
    for f, tmp_path in temps:
      with contextlib.suppress(OSError):
        f.close()
      with contextlib.suppress(OSError):
        os.remove(tmp_path)
    raise


@contextlib.contextmanager
def atomic_write(path, mode='wb', durable=True):
  """Yields a file object whose content replaces `path` only when complete
  (see atomic_writes)."""
  with atomic_writes([path], mode, durable) as (f,):
    yield f


def replace(tmp_path, path):
  """os.replace, retried a few times on Windows while another program holds
  `path` open; then one line saying so."""
  for attempt in range(REPLACE_TRIES):
    try:
      return os.replace(tmp_path, path)
    except PermissionError:
      if sys.platform != 'win32' or os.path.isdir(path):
        raise
      if attempt + 1 == REPLACE_TRIES:
        raise UserError('cannot replace %s: another program holds it open '
                        '(predict.py, a viewer, an antivirus scan?); close it '
                        'and run again' % path)
      time.sleep(REPLACE_PAUSE)


def remove_stale_temp_files(folder):
  """Deletes what writes in `folder` that a killed run never finished left;
  a folder it cannot change (a shared, read-only cache) keeps them."""
  for entry in os.scandir(folder):
    if entry.name.startswith('.') and entry.name.endswith(TEMP_SUFFIX):
      with contextlib.suppress(OSError):
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


def sha256_of(path):
  """The sha256 of the file at `path`, in hex, read a megabyte at a time."""
  return digest_of(path, 'sha256')


def digest_of(path, name):
  """The digest `name` (hashlib's: 'sha256', 'md5') of the file at `path`,
  in hex, read a megabyte at a time."""
  digest = hashlib.new(name)
  with open(path, 'rb') as f:
    for chunk in iter(lambda: f.read(1 << 20), b''):
      digest.update(chunk)
  return digest.hexdigest()


def is_newer(path, than_path):
  """Whether `path` exists and was written after `than_path`."""
  try:
    return os.stat(path).st_mtime_ns > os.stat(than_path).st_mtime_ns
  except OSError:
    return False
