"""retraining/cache.py: the text cache and its binary index."""

import os
import pathlib
import zipfile

import numpy as np
import pytest

from retraining import cache, machine
from retraining.bases import INCEPTION_V3 as INCEPTION

from conftest import fill_disk, small_disk


def values(seed=0):
  return np.random.RandomState(seed).rand(2048).astype(np.float32)


def test_format_round_trips_and_is_upstreams_text():
  v = values()
  text = cache.format_bottleneck(v)
  assert text.count(',') == 2047 and '\n' not in text
  assert text.split(',')[0] == str(v[0])  # str(np.float32), as upstream.
  assert np.array_equal(cache.parse_bottleneck(text, 2048), v)


@pytest.mark.parametrize('twin', [False, True])
def test_a_cache_files_name_gives_back_its_photos(twin):
  """As the Beam pipeline pairs a cache file with its photo."""
  folder, name = cache.cache_file_name('장미', 'A_00.JPG.jpg', INCEPTION, twin).split('/')
  assert folder == '장미'
  assert ('.twin-' in name) == twin
  assert cache.photo_name_of(name, INCEPTION) == 'A_00.JPG.jpg'


@pytest.mark.parametrize('text', [
    '', '1.0', ','.join(['0.5'] * 2047), ','.join(['0.5'] * 2049),
    ','.join(['0.5'] * 2047 + ['nan']), ','.join(['0.5'] * 2047 + ['inf']),
    ','.join(['0.5'] * 1024) + ',abc,' + ','.join(['0.5'] * 1023),
    ','.join(['0.5'] * 2048) + 'junk', 'not a bottleneck at all'])
def test_broken_text_is_refused(text):
  assert cache.parse_bottleneck(text, 2048) is None


def rewrite(path, v):
  """Writes the cache file of `v` at `path` anew with v's numbers reversed:
  the same size, and given back its time, as two writes in one tick of the
  file system's clock get. Returns those numbers."""
  before = os.stat(path)
  cache.write_bottleneck(str(path), v[::-1])
  os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
  after = os.stat(path)
  assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
  return v[::-1]


def test_index_is_used_and_a_changed_text_file_wins(tmp_path):
  rels = [os.path.join('a', '%d.jpg.txt' % i) for i in range(3)]
  for i, rel in enumerate(rels):
    cache.write_bottleneck(str(tmp_path / rel), values(i))
  got, found, broken, parsed = cache.load_bottlenecks(str(tmp_path), rels, INCEPTION)
  assert found.all() and not broken and parsed == 3
  cache.save_index(str(tmp_path), rels, got, INCEPTION)

  _, found, _, parsed = cache.load_bottlenecks(str(tmp_path), rels, INCEPTION)
  assert found.all() and parsed == 0  # All from the index.

  changed = rewrite(tmp_path / rels[1], values(1))
  os.remove(tmp_path / rels[2])
  got, found, _, parsed = cache.load_bottlenecks(str(tmp_path), rels, INCEPTION)
  assert parsed == 1 and list(found) == [True, True, False]
  assert np.array_equal(got[1], changed) and np.array_equal(got[0], values(0))


def test_damaged_index_is_ignored(tmp_path):
  rel = 'a/1.jpg.txt'
  cache.write_bottleneck(str(tmp_path / rel), values())
  pathlib.Path(cache.index_path(tmp_path, INCEPTION)).write_bytes(b'garbage')
  got, found, _, _ = cache.load_bottlenecks(str(tmp_path), [rel], INCEPTION)
  assert found.all() and np.array_equal(got[0], values())


def test_a_file_emptied_by_a_crash_is_broken_even_with_the_index(tmp_path):
  """Cache files are not flushed to disk (see write_bottleneck), so a crash
  of the machine may leave one empty: it must be recomputed, not taken
  from the index."""
  rel = 'a/1.jpg.txt'
  cache.write_bottleneck(str(tmp_path / rel), values())
  cache.save_index(str(tmp_path), [rel], values()[None], INCEPTION)
  (tmp_path / rel).write_text('')
  _, found, broken, _ = cache.load_bottlenecks(str(tmp_path), [rel], INCEPTION)
  assert not found.any() and broken == [str(tmp_path / rel)]


def write_cache(folder, rels, seed=0):
  for i, rel in enumerate(rels):
    cache.write_bottleneck(str(folder / rel), values(seed + i))


def test_an_index_from_another_run_fills_only_unchanged_rows(tmp_path, monkeypatch):
  """A cache made elsewhere: its index holds other photos, in another order,
  one of them changed since; photos were added since it was written. Its
  values are read a chunk at a time (2 rows here)."""
  monkeypatch.setattr(cache, 'CHUNK_ROWS', 2)
  indexed = ['b/%d.jpg.txt' % i for i in range(5)]
  write_cache(tmp_path, indexed)
  cache.save_index(str(tmp_path), indexed, np.stack([values(i) for i in range(5)]), INCEPTION)
  changed = rewrite(tmp_path / indexed[3], values(3))
  write_cache(tmp_path, ['a/new.jpg.txt'], seed=40)  # Added.
  rels = ['a/new.jpg.txt', indexed[4], indexed[3], indexed[0], indexed[2]]
  got, found, broken, parsed = cache.load_bottlenecks(str(tmp_path), rels, INCEPTION)
  assert found.all() and not broken and parsed == 2  # new.jpg and 3.jpg
  for row, want in enumerate([values(40), values(4), changed, values(0), values(2)]):
    assert np.array_equal(got[row], want), row


def test_an_index_whose_values_stop_short_is_ignored(tmp_path, monkeypatch):
  """An index whose values end after 2 of its 5 rows: those 2 are filled
  before the damage shows, and every row is then read from its text file."""
  monkeypatch.setattr(cache, 'CHUNK_ROWS', 2)
  rels = ['a/%d.jpg.txt' % i for i in range(5)]
  write_cache(tmp_path, rels)
  with zipfile.ZipFile(cache.index_path(tmp_path, INCEPTION), 'w') as index:
    for name, array in (('paths', np.array(rels)),
                        ('stamps', cache.file_stamps(str(tmp_path), rels))):
      with index.open(name + '.npy', 'w') as f:
        np.lib.format.write_array(f, array)
    with index.open('values.npy', 'w') as f:
      np.lib.format.write_array_header_1_0(f, {
          'descr': '<f4', 'fortran_order': False, 'shape': (5, 2048)})
      f.write(np.stack([values(9)] * 2).tobytes())
  got, found, _, parsed = cache.load_bottlenecks(str(tmp_path), rels, INCEPTION)
  assert found.all() and parsed == 5
  assert all(np.array_equal(got[i], values(i)) for i in range(5))


def test_keep_rows_moves_rows_to_the_front_in_place(monkeypatch):
  monkeypatch.setattr(cache, 'CHUNK_ROWS', 2)
  rows = np.arange(9, dtype=np.float32)[:, None] * np.ones(3, np.float32)
  keep = np.array([0, 1, 1, 0, 0, 1, 1, 1, 0], bool)
  kept = cache.keep_rows(rows, keep)
  assert list(kept[:, 0]) == [1, 2, 5, 6, 7] and np.shares_memory(kept, rows)
  assert cache.keep_rows(rows, np.ones(9, bool)) is rows


def test_values_are_aligned_for_tensorflow_to_read_in_place(tmp_path):
  rels = ['a/%d.jpg.txt' % i for i in range(3)]
  write_cache(tmp_path, rels)
  got, _, _, _ = cache.load_bottlenecks(str(tmp_path), rels, INCEPTION)
  assert got.ctypes.data % machine.TENSORFLOW_ALIGNMENT == 0
  assert machine.aligned(got) is got
  shifted = np.arange(2049, dtype=np.float32)[1:]  # 4 bytes past a boundary.
  copy = machine.aligned(shifted)
  assert copy.ctypes.data % machine.TENSORFLOW_ALIGNMENT == 0
  assert np.array_equal(copy, shifted)


def test_an_index_that_cannot_be_written_is_one_warning(tmp_path, capsys):
  """A full disk: the index is only a shortcut, so the run goes on."""
  with small_disk(tmp_path / 'bottlenecks', '64k') as folder:
    fill_disk(folder)
    cache.save_index(str(folder), ['a/x.jpg.txt'],
                     np.ones((1, INCEPTION.bottleneck_size), np.float32), INCEPTION)
    assert not os.path.exists(cache.index_path(folder, INCEPTION))
  assert capsys.readouterr().err.startswith(
      'WARNING: cannot write the cache index %s (No space left on device)'
      % (cache.index_path(tmp_path / 'bottlenecks', INCEPTION)))
