"""Unit tests of the bottleneck cache: parsing and the binary index."""

import os
import time

import numpy as np
import pytest

from retraining import cache


def values(seed=0):
  return np.random.RandomState(seed).rand(2048).astype(np.float32)


def test_format_round_trips_and_is_upstreams_text():
  v = values()
  text = cache.format_bottleneck(v)
  assert text.count(',') == 2047 and '\n' not in text
  assert text.split(',')[0] == str(v[0])  # str(np.float32), as upstream.
  assert np.array_equal(cache.parse_bottleneck(text), v)


@pytest.mark.parametrize('text', [
    '', '1.0', ','.join(['0.5'] * 2047), ','.join(['0.5'] * 2049),
    ','.join(['0.5'] * 2047 + ['nan']), ','.join(['0.5'] * 2047 + ['inf']),
    ','.join(['0.5'] * 1024) + ',abc,' + ','.join(['0.5'] * 1023),
    ','.join(['0.5'] * 2048) + 'junk', 'not a bottleneck at all'])
def test_broken_text_is_refused(text):
  assert cache.parse_bottleneck(text) is None


def test_index_is_used_and_a_changed_text_file_wins(tmp_path):
  rels = [os.path.join('a', '%d.jpg.txt' % i) for i in range(3)]
  for i, rel in enumerate(rels):
    cache.write_bottleneck(str(tmp_path / rel), values(i))
  got, found, broken, parsed = cache.load_bottlenecks(str(tmp_path), rels)
  assert found.all() and not broken and parsed == 3
  cache.save_index(str(tmp_path), rels, got)

  _, found, _, parsed = cache.load_bottlenecks(str(tmp_path), rels)
  assert found.all() and parsed == 0  # All from the index.

  time.sleep(0.01)
  cache.write_bottleneck(str(tmp_path / rels[1]), values(9))
  os.remove(tmp_path / rels[2])
  got, found, _, parsed = cache.load_bottlenecks(str(tmp_path), rels)
  assert parsed == 1 and list(found) == [True, True, False]
  assert np.array_equal(got[1], values(9)) and np.array_equal(got[0], values(0))


def test_damaged_index_is_ignored(tmp_path):
  rel = 'a/1.jpg.txt'
  cache.write_bottleneck(str(tmp_path / rel), values())
  (tmp_path / cache.INDEX_FILE_NAME).write_bytes(b'garbage')
  got, found, _, _ = cache.load_bottlenecks(str(tmp_path), [rel])
  assert found.all() and np.array_equal(got[0], values())


def test_a_file_emptied_by_a_crash_is_broken_even_with_the_index(tmp_path):
  """Cache files are not flushed to disk (see write_bottleneck), so a crash
  of the machine may leave one empty: it must be recomputed, not taken
  from the index."""
  rel = 'a/1.jpg.txt'
  cache.write_bottleneck(str(tmp_path / rel), values())
  cache.save_index(str(tmp_path), [rel], values()[None])
  (tmp_path / rel).write_text('')
  _, found, broken, _ = cache.load_bottlenecks(str(tmp_path), [rel])
  assert not found.any() and broken == [str(tmp_path / rel)]
