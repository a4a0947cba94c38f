"""The bottleneck cache: upstream's text files, plus a binary index to load fast.

The text files are the format of record, exactly as the original retrain.py
wrote them, so old caches keep working: `<bottleneck_dir>/<class folder>/
<photo file name>.txt`, one line of 2,048 comma-separated floats. Another
base than Inception v3 (bases.py) names its files apart, as TF Hub's
retrain.py did: `<photo file name>_mobilenet_v3_large.txt`, so one folder
never mixes two bases. Parsing thousands of them costs seconds, so after a
run their values are also kept in `<bottleneck_dir>/.bottleneck_index.npz`
(`.bottleneck_index_mobilenet_v3_large.npz`) together with each file's stamp:
its size, modification time and file number (inode). A text file that
changed since (or is new) wins: each write replaces a cache file by a new
one (see files.py), which gets a new file number even where the clock has
not moved on, so the stamp does not rely on two writes getting two times.
"""

import hashlib
import os
import re
import warnings

import numpy as np

from retraining import files, warn
from retraining.machine import aligned_zeros

INDEX_FILE_NAME = '.bottleneck_index%s.npz'  # % the base's cache_suffix
CACHE_SUFFIX = '.txt'  # after the photo's own file name and the base's
TWIN_SUFFIX = re.compile(r'\.twin-[0-9a-f]{8}$')  # after a twin's (see cache_file_name)
CHUNK_ROWS = 1024  # rows of values read or moved at a time (8 MB)


def cache_file_name(folder, file_name, base, twin=False):
  """The cache file of photo `folder/file_name` for `base`, relative to the
  cache folder, with '/' on every system (the index's keys are the same everywhere, and
  Windows opens such paths). A `twin` (a name differing from another photo's
  only in case or Unicode form, see image_lists.twin_originals) gets a hash of
  its exact name too: on a disk blind to case (Windows, macOS) the two
  would otherwise be one cache file."""
  if twin:
    file_name += '.twin-%s' % hashlib.sha1(file_name.encode('utf-8')).hexdigest()[:8]
  return '%s/%s%s%s' % (folder, file_name, base.cache_suffix, CACHE_SUFFIX)


def index_path(bottleneck_dir, base):
  """Where the index of `base`'s cache files is kept."""
  return os.path.join(bottleneck_dir, INDEX_FILE_NAME % base.cache_suffix)


def photo_name_of(cache_name, base):
  """The photo's file name in the name of its cache file (one of
  cache_file_name's for `base`, without the folder), or None where it is
  not one of them."""
  ending = base.cache_suffix + CACHE_SUFFIX
  if not cache_name.endswith(ending):
    return None
  return TWIN_SUFFIX.sub('', cache_name[:len(cache_name) - len(ending)])


def format_bottleneck(values):
  return ','.join(map(str, np.asarray(values, dtype=np.float32)))


def parse_bottleneck(text, size):
  """`size` finite floats from one cache file's text, or None if it is
  broken."""
  with warnings.catch_warnings():
    warnings.simplefilter('ignore')  # numpy warns on trailing garbage.
    try:
      values = np.fromstring(text, dtype=np.float32, sep=',')
    except ValueError:
      return None
  if values.size != size or not np.isfinite(values).all():
    return None
  if text.strip().count(',') != size - 1:
    return None  # Garbage numpy stopped at without saying so.
  return values


def write_bottleneck(path, values):
  """Writes one cache file, not waiting for the disk: a file a crash of the
  machine empties is found damaged when read and computed again, and
  waiting for thousands of small files would take seconds on a hard disk."""
  files.write_text(path, format_bottleneck(values), durable=False)


STAMP_FIELDS = 3  # size, mtime in ns, file number


def file_stamp(path):
  """(size, mtime in ns, file number), or None if there is no file."""
  try:
    st = os.stat(path)
  except OSError:
    return None
  return st.st_size, st.st_mtime_ns, st.st_ino


def clear_unfinished_writes(bottleneck_dir):
  """Deletes the temporary files that writes a killed run never finished
  left in the cache and its class folders."""
  if os.path.isdir(bottleneck_dir):
    files.remove_stale_temp_files(bottleneck_dir)
    for entry in os.scandir(bottleneck_dir):
      if entry.is_dir():
        files.remove_stale_temp_files(entry.path)


def file_stamps(bottleneck_dir, relative_paths):
  """The stamp of each cache file, int64 [n, STAMP_FIELDS]; -1 where there
  is no file."""
  stamps = np.full((len(relative_paths), STAMP_FIELDS), -1, np.int64)
  for i, rel in enumerate(relative_paths):
    stamp = file_stamp(os.path.join(bottleneck_dir, rel))
    if stamp is not None:
      stamps[i] = stamp
  return stamps


def read_bottleneck(path, size):
  """The `size` values of one cache file, or None if it cannot be read or
  parsed."""
  try:
    with open(path) as f:
      return parse_bottleneck(f.read(), size)
  except (OSError, UnicodeDecodeError):
    return None


def load_bottlenecks(bottleneck_dir, relative_paths, base):
  """Reads the cached bottleneck of each photo for `base`.

  Returns (values float32 [n, bottleneck size], found bool [n], broken [paths],
  parsed count): a row is found when its text file exists and parses (or the
  index holds it unchanged); `broken` lists files that exist but do not parse
  (to be recomputed); the count says how many were parsed from text rather
  than taken from the index. The values are the only copy made of them:
  aligned for TensorFlow to read in place (see machine.aligned_zeros), and
  filled from the index a chunk at a time.
  """
  values = aligned_zeros((len(relative_paths), base.bottleneck_size), np.float32)
  stamps = file_stamps(bottleneck_dir, relative_paths)
  found = read_indexed_values(index_path(bottleneck_dir, base), relative_paths,
                              stamps, values)
  broken = []
  parsed_count = 0
  for i in np.flatnonzero(~found & (stamps[:, 0] >= 0)):
    path = os.path.join(bottleneck_dir, relative_paths[i])
    parsed = read_bottleneck(path, base.bottleneck_size)
    if parsed is None:
      broken.append(path)
    else:
      values[i], found[i] = parsed, True
      parsed_count += 1
  return values, found, broken, parsed_count


def read_indexed_values(path, relative_paths, stamps, values):
  """Copies into `values` the rows the index at `path` holds of unchanged
  cache files (the same stamp); returns which rows it filled. A missing,
  old or damaged index fills none: it is only a shortcut."""
  found = np.zeros(len(relative_paths), bool)
  try:
    with np.load(path) as index:
      photo_of_row = photos_of_index_rows(index['paths'], index['stamps'],
                                          relative_paths, stamps)
      with index.zip.open('values.npy') as f:
        for start, chunk in read_rows(f, len(photo_of_row), values.shape[1]):
          photos = photo_of_row[start:start + len(chunk)]
          known = photos >= 0
          values[photos[known]] = chunk[known]
  except Exception:
    return found
  found[photo_of_row[photo_of_row >= 0]] = True
  return found


def photos_of_index_rows(index_paths, index_stamps, relative_paths, stamps):
  """For each row of the index, the photo whose unchanged cache file it
  holds, or -1. The index may come from another run, on other photos, or
  from a version that stamped files otherwise (then it fills none)."""
  photo_of_row = np.full(len(index_paths), -1)
  if not len(index_paths) or index_stamps.shape[1:] != stamps.shape[1:]:
    return photo_of_row
  row_of_path = {path: row for row, path in enumerate(index_paths.tolist())}
  rows = np.array([row_of_path.get(rel, -1) for rel in relative_paths], np.int64)
  same = (rows >= 0) & (index_stamps[rows] == stamps).all(axis=1)
  photo_of_row[rows[same]] = np.flatnonzero(same)
  return photo_of_row


def read_rows(f, count, size):
  """Yields (first row, rows) of the float32 [count, size] array of the .npy
  file `f`, CHUNK_ROWS rows at a time."""
  version = np.lib.format.read_magic(f)
  read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                 (2, 0): np.lib.format.read_array_header_2_0}[version]
  shape, fortran_order, dtype = read_header(f)
  if (shape != (count, size) or fortran_order
      or dtype != np.float32):
    raise ValueError('the index holds %s %s values' % (shape, dtype))
  row_bytes = size * dtype.itemsize
  for start in range(0, count, CHUNK_ROWS):
    rows = min(CHUNK_ROWS, count - start)
    data = f.read(rows * row_bytes)  # Short if the file is: reshape fails.
    yield start, np.frombuffer(data, dtype).reshape(rows, size)


def save_index(bottleneck_dir, relative_paths, values, base):
  """Records the values of the given cache files of `base` with their
  current stamps,
  or gives one warning where the index cannot be written (a shared
  read-only cache, a full disk): it is only a shortcut. numpy writes
  `values` a chunk at a time; they are copied only if some files were
  removed since they were read."""
  stamps = file_stamps(bottleneck_dir, relative_paths)
  kept = stamps[:, 0] >= 0
  if not kept.all():
    relative_paths = [rel for rel, keep in zip(relative_paths, kept) if keep]
    stamps, values = stamps[kept], values[kept]
  path = index_path(bottleneck_dir, base)
  try:
    with files.atomic_write(path) as f:
      np.savez(f, paths=np.array(relative_paths, dtype=str), stamps=stamps,
               values=values)
  except OSError as e:
    warn('cannot write the cache index %s (%s): the next run reads the cache '
         'files again, which is slower' % (path, e.strerror or e))


def keep_rows(values, keep):
  """Moves the rows of `values` that `keep` marks to its front, in order, in
  place and a chunk at a time; returns that front part (a view)."""
  rows = np.flatnonzero(keep)
  if len(rows) == len(values):
    return values
  for start in range(0, len(rows), CHUNK_ROWS):
    chunk = rows[start:start + CHUNK_ROWS]
    # Rows only move towards the front, and each chunk is read whole before
    # it is written, so no row is overwritten before it has moved.
    values[start:start + len(chunk)] = values[chunk]
  return values[:len(rows)]
