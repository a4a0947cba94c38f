"""retraining/files.py: writes that are complete or absent, on real full
disks."""

import os

import pytest

from retraining import files

from conftest import read_only, small_disk


def test_writes_are_all_or_none_on_a_full_disk(tmp_path):
  """Two files written as one: where the second does not fit, neither is
  replaced and no temporary file is left."""
  disk = tmp_path / 'disk'
  with small_disk(disk, '64k'):
    (disk / 'graph.pb').write_bytes(b'old graph')
    (disk / 'labels.txt').write_bytes(b'old labels')
    with pytest.raises(OSError):
      with files.atomic_writes([str(disk / 'graph.pb'),
                                str(disk / 'labels.txt')]) as (graph, labels):
        graph.write(b'new graph')
        labels.write(b'x' * 1024 * 1024)
    assert (disk / 'graph.pb').read_bytes() == b'old graph'
    assert (disk / 'labels.txt').read_bytes() == b'old labels'
    assert sorted(os.listdir(disk)) == ['graph.pb', 'labels.txt']


def test_a_temporary_name_is_short_whatever_the_target(tmp_path):
  """A photo's name near the file system's limit still gets its cache file
  (255 bytes on most), and a path near Windows's limit is not lengthened."""
  long_name = 'x' * 255
  with files.atomic_write(str(tmp_path / long_name)) as f:
    temp, = os.listdir(tmp_path)
    f.write(b'data')
  assert len(temp) == 1 + files.TEMP_DIGITS + len(files.TEMP_SUFFIX)
  assert os.listdir(tmp_path) == [long_name]


def test_unfinished_writes_are_removed_and_a_read_only_folder_keeps_them(tmp_path):
  (tmp_path / 'photo.jpg.txt').write_text('1.0')
  (tmp_path / '.0123abcd.tmp').write_text('half')
  with read_only(tmp_path):
    files.remove_stale_temp_files(str(tmp_path))  # No error.
    assert (tmp_path / '.0123abcd.tmp').exists()
  files.remove_stale_temp_files(str(tmp_path))
  assert os.listdir(tmp_path) == ['photo.jpg.txt']
