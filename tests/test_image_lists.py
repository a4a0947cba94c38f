"""Unit tests of class naming and the train/validation/test split."""

import hashlib
import os

import pytest

from retraining import UserError
from retraining.image_lists import (
  MAX_NUM_IMAGES_PER_CLASS,
  create_image_lists,
  label_for_folder,
  set_for_file,
)

from conftest import make_photo


def upstream_split(path, testing_percentage=10, validation_percentage=10):
  """The original script's rule, written out independently."""
  import re
  hash_name = re.sub(r'_nohash_.*$', '', path)
  value = int(hashlib.sha1(hash_name.encode()).hexdigest(), 16)
  percentage = (value % (MAX_NUM_IMAGES_PER_CLASS + 1)) * (
      100.0 / MAX_NUM_IMAGES_PER_CLASS)
  if percentage < validation_percentage:
    return 'validation'
  if percentage < testing_percentage + validation_percentage:
    return 'testing'
  return 'training'


def test_split_is_upstream_rule_on_the_file_name():
  names = ['%08d_%s.jpg' % (i, 'abc') for i in range(2000)]
  got = [set_for_file(os.path.join('any', 'where', n), 10, 10) for n in names]
  assert got == [upstream_split(n) for n in names]
  assert 150 < got.count('testing') < 250 and 150 < got.count('validation') < 250


def test_nohash_variants_stay_together():
  sets = {set_for_file('dog_nohash_%d.jpg' % i, 30, 30) for i in range(50)}
  assert len(sets) == 1
  assert sets == {set_for_file('dog', 30, 30)}


def test_split_does_not_depend_on_the_folder():
  for name in ('1.jpg', 'a_b_c.jpeg', '장미.png'):
    assert (set_for_file('/home/me/flower_photos/roses/' + name, 10, 10) ==
            set_for_file('flower_photos/roses/' + name, 10, 10))


@pytest.mark.parametrize('folder,label', [
    ('roses', 'roses'), ('Red_Roses', 'red roses'), ('  sun--flowers!! ', 'sun flowers'),
    ('장미', '장미'), ('\u1109\u1161\u1100\u116a', '사과'),  # decomposed Hangul
    ('Ölbaum 2', 'ölbaum 2')])
def test_labels(folder, label):
  assert label_for_folder(folder) == label


def test_image_lists_sorted_each_file_once_hidden_skipped(tmp_path):
  for name in ('b/1.JPG', 'b/2.jpeg', 'b/3.Png', 'b/.4.jpg', 'b/5.txt',
               'a/1.jpg', 'A_/1.jpg', '.hidden/1.jpg'):
    path = tmp_path / name
    if name.endswith('.txt'):
      path.write_text('x')
    else:
      make_photo(str(path), (1, 2, 3), 0)
  with pytest.raises(UserError, match="'A_' and 'a'"):
    create_image_lists(str(tmp_path), 10, 10)
  os.remove(tmp_path / 'A_' / '1.jpg')
  os.rmdir(tmp_path / 'A_')
  lists = create_image_lists(str(tmp_path), 10, 10)
  assert list(lists) == ['a', 'b']
  files = sorted(sum((lists['b'][c] for c in ('training', 'testing', 'validation')), []))
  assert files == ['1.JPG', '2.jpeg', '3.Png']


def test_twins_fall_in_one_set_and_other_names_keep_theirs(tmp_path, capsys):
  """Real twin files: `x.jpg` beside `x.JPG`, and one Hangul name in NFC
  beside its NFD (macOS's form). Each twin takes its original's set; the
  names without a twin are split as they were without the twins."""
  import shutil
  import unicodedata
  plain = tmp_path / 'plain'
  for i in range(30):
    make_photo(str(plain / 'a' / ('photo_%02d.jpg' % i)), (9, 9, 9), i)
    make_photo(str(plain / 'a' / unicodedata.normalize('NFC', '장미_%02d.jpg' % i)),
               (9, 9, 9), 100 + i)
  for i in range(20):
    make_photo(str(plain / 'b' / ('b_%02d.jpg' % i)), (200, 9, 9), i)
  before = create_image_lists(str(plain), 30, 30)['a']
  twins = shutil.copytree(plain, tmp_path / 'twins')
  for name in os.listdir(plain / 'a'):
    copy = (name.replace('.jpg', '.JPG') if name.startswith('photo')
            else unicodedata.normalize('NFD', name))
    shutil.copy(twins / 'a' / name, twins / 'a' / copy)
  assert len(os.listdir(twins / 'a')) == 120
  after = create_image_lists(str(twins), 30, 30)['a']
  set_of = {name: category for category in ('training', 'testing', 'validation')
            for name in after[category]}
  assert len(set_of) == 120
  for name in os.listdir(plain / 'a'):
    twin = (name.replace('.jpg', '.JPG') if name.startswith('photo')
            else unicodedata.normalize('NFD', name))
    assert set_of[name] == set_of[twin], name
    assert name in before[set_of[name]], name  # The original did not move.
  warning, = [line for line in capsys.readouterr().err.splitlines()
              if 'have a twin' in line]
  assert warning.startswith('WARNING: 60 photos have a twin')
