"""retraining/listing.py: what counts as a photo file, and what is skipped
without being opened."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

from retraining import UserError
from retraining.listing import (
  list_class_folders,
  photo_names_in,
  photo_paths_under,
  why_not_a_photo_file,
)

from conftest import ROOT, make_photo


def test_special_files_and_broken_links_are_skipped_unopened(tmp_path, capsys):
  folder = tmp_path / 'a'
  make_photo(str(folder / 'good.jpg'), (9, 9, 9), 1)
  os.mkfifo(folder / 'fifo.jpg')  # Opening it would wait for a writer.
  listener = socket.socket(socket.AF_UNIX)
  listener.bind(str(folder / 'socket.png'))
  os.symlink('/dev/null', folder / 'device.jpg')
  os.symlink('loop.jpg', folder / 'loop.jpg')
  os.symlink('good.jpg', folder / 'link.jpg')  # A link to a photo is one.
  (folder / 'sub.jpg').mkdir()  # A folder with a photo's name is not.
  try:
    assert photo_names_in(str(folder)) == ['good.jpg', 'link.jpg']
    assert photo_paths_under(str(tmp_path)) == [
        str(folder / 'good.jpg'), str(folder / 'link.jpg')]
  finally:
    listener.close()
  skipped = [line for line in capsys.readouterr().err.splitlines()]
  assert len(skipped) == 8  # Four, by each of the two functions.
  assert 'WARNING: skipped %s: cannot read it (Too many levels of symbolic links)' % (
      folder / 'loop.jpg') in skipped
  assert why_not_a_photo_file(str(folder / 'fifo.jpg')).startswith('not a regular file')
  assert why_not_a_photo_file(str(folder / 'good.jpg')) is None
  assert why_not_a_photo_file('http://example.com/a.jpg').startswith('URLs are not read')
  assert why_not_a_photo_file(str(folder / 'none.jpg')) == 'no such file'


def test_a_folder_that_cannot_be_listed_is_one_error_naming_it():
  """As a user without the right to list it (root may list anything, so
  the check runs as nobody where the tests run as root)."""
  top = tempfile.mkdtemp()
  try:
    os.chmod(top, 0o755)
    locked = os.path.join(top, 'locked')
    os.mkdir(locked, 0o000)
    code = ('import os, sys; sys.path.insert(0, %r)\n'
            'from retraining import UserError\n'
            'from retraining.listing import photo_names_in\n'
            'if os.geteuid() == 0:\n  os.setuid(65534)  # nobody\n'
            'try:\n  photo_names_in(%r)\n'
            'except UserError as e:\n  print(e)\n') % (ROOT, locked)
    result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                            text=True, cwd=top)
    assert result.stdout.strip() == (
        'cannot list class folder %s (Permission denied): make it readable, or '
        'move it out of the image folder' % locked), result.stderr
  finally:
    os.chmod(os.path.join(top, 'locked'), 0o755)
    shutil.rmtree(top)


def test_a_name_that_is_not_utf8_is_skipped_with_its_bytes_shown(tmp_path, capsys):
  if sys.platform == 'darwin':
    pytest.skip('macOS refuses such names')
  make_photo(str(tmp_path / 'good.jpg'), (9, 9, 9), 1)
  shutil.copy(tmp_path / 'good.jpg', os.fsencode(tmp_path) + b'/caf\xe9.jpg')
  assert photo_names_in(str(tmp_path)) == ['good.jpg']
  assert capsys.readouterr().err == (
      'WARNING: skipped %s/caf\\xe9.jpg: its name is not UTF-8 text: rename it\n'
      % tmp_path)
  make_photo(os.fsdecode(os.fsencode(tmp_path) + b'/\xff/x.jpg'), (1, 1, 1), 1)
  with pytest.raises(UserError, match=r'folder .*/\\xff is not UTF-8 text: rename it'):
    list_class_folders(str(tmp_path))
