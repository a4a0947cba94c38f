"""retraining/dataset.py: the photos as rows, copies named."""

import numpy as np

from retraining import bases
from retraining.dataset import PhotoSet, list_photos, warn_of_same_content


def split_of(rows, paths):
  return PhotoSet(np.array(rows, np.float32), np.zeros(len(rows), int), paths)


def test_photos_with_the_same_content_are_named_in_one_warning(capsys):
  size = bases.INCEPTION_V3.bottleneck_size
  one, other = np.full(size, 0.5), np.full(size, 0.25)
  near = one.copy()
  near[-1] = 0.75  # Same first values, another photo.
  warn_of_same_content({
      'training': split_of([one, other, near], ['a.jpg', 'b.jpg', 'near.jpg']),
      'testing': split_of([one], ['a copy.jpg']),
      'validation': split_of([other], ['b copy.jpg'])})
  assert capsys.readouterr().err == (
      'WARNING: 2 groups of photos have the same content (their bottlenecks '
      'are equal): a.jpg (training) = a copy.jpg (testing); b.jpg (training) '
      '= b copy.jpg (validation); a copy in another set than its original is '
      'measured on what it trained on: delete the copies\n')


def test_twins_get_cache_files_apart_on_a_disk_blind_to_case():
  lists = {'a': {'dir': 'a', 'training': ['x.jpg', 'X.JPG', 'y.jpg'],
                 'testing': [], 'validation': []}}
  caches = sorted(p.cache_path for p in list_photos(lists, '/photos', bases.INCEPTION_V3))
  assert caches[1:] == ['a/x.jpg.txt', 'a/y.jpg.txt']  # As before.
  assert caches[0].startswith('a/X.JPG.twin-') and caches[0].endswith('.txt')
  assert len({c.lower() for c in caches}) == 3
