"""The bottleneck cache: upstream's text files, plus a binary index to load fast.

The text files are the format of record, exactly as the original retrain.py
wrote them, so old caches keep working: `<bottleneck_dir>/<class folder>/
<photo file name>.txt`, one line of 2,048 comma-separated floats. Parsing
thousands of them costs seconds, so after a run their values are also kept in
`<bottleneck_dir>/.bottleneck_index.npz` together with each file's size and
modification time; a text file that changed since (or is new) wins.
"""

import os
import warnings

import numpy as np

from retraining import files
from retraining.inception import BOTTLENECK_TENSOR_SIZE

INDEX_FILE_NAME = '.bottleneck_index.npz'
CACHE_SUFFIX = '.txt'  # after the photo's own file name


def cache_file_name(folder, file_name):
  """The cache file of photo `folder/file_name`, relative to the cache folder."""
  return os.path.join(folder, file_name + CACHE_SUFFIX)


def format_bottleneck(values):
  return ','.join(map(str, np.asarray(values, dtype=np.float32)))


def parse_bottleneck(text):
  """2,048 finite floats from one cache file's text, or None if it is broken."""
  with warnings.catch_warnings():
    warnings.simplefilter('ignore')  # numpy warns on trailing garbage.
    try:
      values = np.fromstring(text, dtype=np.float32, sep=',')
    except ValueError:
      return None
  if values.size != BOTTLENECK_TENSOR_SIZE or not np.isfinite(values).all():
    return None
  if text.strip().count(',') != BOTTLENECK_TENSOR_SIZE - 1:
    return None  # Garbage numpy stopped at without saying so.
  return values


def write_bottleneck(path, values):
  """Writes one cache file, not waiting for the disk: a file a crash of the
  machine empties is found damaged when read and computed again, and
  waiting for thousands of small files would take seconds on a hard disk."""
  files.write_text(path, format_bottleneck(values), durable=False)


def file_stamp(path):
  """(size, mtime in ns), or None if there is no file."""
  try:
    st = os.stat(path)
  except OSError:
    return None
  return st.st_size, st.st_mtime_ns


def remove_stale_temp_files(bottleneck_dir):
  if os.path.isdir(bottleneck_dir):
    files.remove_stale_temp_files(bottleneck_dir)
    for entry in os.scandir(bottleneck_dir):
      if entry.is_dir():
        files.remove_stale_temp_files(entry.path)


def read_index(bottleneck_dir):
  path = os.path.join(bottleneck_dir, INDEX_FILE_NAME)
  try:
    with np.load(path) as index:
      rows = {str(p): i for i, p in enumerate(index['paths'])}
      return rows, index['stamps'], index['values']
  except Exception:  # Missing, old or damaged: it is only a shortcut.
    return {}, None, None


def load_bottlenecks(bottleneck_dir, relative_paths):
  """Reads the cached bottleneck of each photo.

  Returns (values float32 [n, 2048], found bool [n], broken [paths],
  parsed count): a row is found when its text file exists and parses (or the
  index holds it unchanged); `broken` lists files that exist but do not parse
  (to be recomputed); the count says how many were parsed from text rather
  than taken from the index.
  """
  rows, stamps, indexed = read_index(bottleneck_dir)
  values = np.zeros((len(relative_paths), BOTTLENECK_TENSOR_SIZE), np.float32)
  found = np.zeros(len(relative_paths), bool)
  broken = []
  parsed_count = 0
  for i, rel in enumerate(relative_paths):
    path = os.path.join(bottleneck_dir, rel)
    stamp = file_stamp(path)
    if stamp is None:
      continue
    row = rows.get(rel)
    if row is not None and tuple(stamps[row]) == stamp:
      values[i] = indexed[row]
      found[i] = True
      continue
    try:
      with open(path) as f:
        parsed = parse_bottleneck(f.read())
    except (OSError, UnicodeDecodeError):
      parsed = None
    if parsed is None:
      broken.append(path)
    else:
      values[i] = parsed
      found[i] = True
      parsed_count += 1
  return values, found, broken, parsed_count


def save_index(bottleneck_dir, relative_paths, values):
  """Records the values of the given cache files with their current stamps."""
  stamps = [file_stamp(os.path.join(bottleneck_dir, rel)) for rel in relative_paths]
  keep = [i for i, s in enumerate(stamps) if s is not None]
  with files.atomic_write(os.path.join(bottleneck_dir, INDEX_FILE_NAME)) as f:
    np.savez(f, paths=np.array([relative_paths[i] for i in keep], dtype=str),
             stamps=np.array([stamps[i] for i in keep], np.int64).reshape(-1, 2),
             values=values[keep])
