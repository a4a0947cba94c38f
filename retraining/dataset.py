"""The photos as rows of bottlenecks: listed set by set, then cut into the
training, validation and testing sets (no TensorFlow).

The bottlenecks themselves are read from the cache or computed by
retraining/graph/bottlenecks.py, one row per photo in the order of list_photos.
"""

import collections
import os

import numpy as np

from retraining import UserError, cache, files, warn
from retraining.image_lists import SET_NAMES, twin_originals

Photo = collections.namedtuple(
    'Photo', 'label_index set_name image_path cache_path')
# The bottlenecks of the usable photos, in order [usable, 2048]; which photos
# are usable [n]; the paths of the photos that could not be read.
Bottlenecks = collections.namedtuple('Bottlenecks', 'values ok skipped')
# One of the training, validation and testing sets: bottlenecks [n, 2048],
# label indices [n] sorted, and the photos' paths.
PhotoSet = collections.namedtuple('PhotoSet', 'bottlenecks labels paths')
# How many of a bottleneck's first values group photos that may be copies.
FINGERPRINT_VALUES = 16


def list_photos(image_lists, image_dir, base):
  """Flattens the image lists into one list of Photo, with its cache file
  for `base`: the training set, then the testing and the validation sets,
  each in label order, so that each set's bottlenecks are consecutive rows
  (see cut_into_sets)."""
  photos = []
  twins = [twin_originals([name for s in SET_NAMES for name in lists[s]])
           for lists in image_lists.values()]
  for set_name in SET_NAMES:
    for label_index, lists in enumerate(image_lists.values()):
      for file_name in lists[set_name]:
        photos.append(Photo(
            label_index, set_name,
            os.path.join(image_dir, lists['dir'], file_name),
            cache.cache_file_name(lists['dir'], file_name, base,
                                  twin=file_name in twins[label_index])))
  return photos


def cut_into_sets(photos, bottlenecks):
  """{set_name: PhotoSet} of the usable photos, sorted by label.

  The photos come set by set (see list_photos), so each set's bottlenecks
  are consecutive rows: a view, not a copy.
  """
  usable = [p for p, ok in zip(photos, bottlenecks.ok) if ok]
  sets, start = {}, 0
  for set_name in SET_NAMES:
    end = start + sum(p.set_name == set_name for p in usable)
    members = usable[start:end]
    assert all(p.set_name == set_name for p in members), 'not set by set'
    sets[set_name] = PhotoSet(
        bottlenecks.values[start:end],
        np.array([p.label_index for p in members], np.int64),
        [p.image_path for p in members])
    start = end
  return sets


def warn_of_same_content(sets):
  """Names, in one warning, the photos whose bottlenecks are equal: the same
  photo under two names (a copy), which in two sets makes the test accuracy
  measure photos the layer trained on. Candidates are grouped by their first
  values, then compared whole."""
  candidates = collections.defaultdict(list)
  for set_name in SET_NAMES:
    photo_set = sets[set_name]
    heads = np.ascontiguousarray(photo_set.bottlenecks[:, :FINGERPRINT_VALUES])
    for row, head in enumerate(heads):
      candidates[head.tobytes()].append((set_name, row))
  groups = []
  for members in candidates.values():
    while len(members) > 1:
      first = sets[members[0][0]].bottlenecks[members[0][1]]
      same = [m for m in members
              if np.array_equal(sets[m[0]].bottlenecks[m[1]], first)]
      members = [m for m in members if m not in same]
      if len(same) > 1:
        groups.append(' = '.join('%s (%s)' % (sets[s].paths[r], s)
                                 for s, r in same))
  if groups:
    warn('%d groups of photos have the same content (their bottlenecks are '
         'equal): %s; a copy in another set than its original is measured '
         'on what it trained on: delete the copies' % (len(groups),
                                                        '; '.join(sorted(groups))))


def check_every_class_has_photos(sets, labels):
  """Refuses a class with no training photo; warns of empty validation/test."""
  counts = {s: np.bincount(sets[s].labels, minlength=len(labels))
            for s in SET_NAMES}
  for label_index, label in enumerate(labels):
    total = sum(int(counts[s][label_index]) for s in SET_NAMES)
    if counts['training'][label_index] == 0:
      raise UserError('class %r has no photo in the training set (%d usable '
                      'photos in all): add photos to its folder' % (label, total))
    for set_name, flag in (('validation', 'validation_percentage'),
                           ('testing', 'testing_percentage')):
      if counts[set_name][label_index] == 0 and len(sets[set_name].labels):
        warn('class %r (%d photos) has no photo in the %s set, so it is not '
             'measured there: add photos or raise --%s'
             % (label, total, set_name, flag))


def report_skipped_photos(skipped, output_graph):
  """Lists the photos that could not be read in <output_graph>_skipped.txt."""
  if skipped:
    path = files.beside(output_graph, '_skipped.txt')
    try:
      files.write_text(path, ''.join(p + '\n' for p in skipped))
    except (OSError, UnicodeEncodeError) as e:
      warn('%d photos could not be read and were left out (cannot write '
           'their list to %s: %s)' % (len(skipped), path, e))
      return
    warn_of_skipped_photos(len(skipped), path)


def warn_of_skipped_photos(count, list_path):
  warn('%d photos could not be read and were left out; the list is in %s'
       % (count, list_path))
