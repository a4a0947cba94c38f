"""The photos of each class folder, named and divided into the training,
validation and testing sets by file name (twins in one set); the photo
files themselves are found by retraining/listing.py (no TensorFlow)."""

import collections
import hashlib
import os
import re
import unicodedata

from retraining import UserError, warn
from retraining.listing import list_class_folders, photo_names_in

MAX_NUM_IMAGES_PER_CLASS = 2 ** 27 - 1  # ~134M, as upstream
MIN_PHOTOS_PER_CLASS = 20
SET_NAMES = ('training', 'testing', 'validation')


def label_for_folder(folder_name):
  """The class label of a photo folder: lower-case words, single spaces.

  Upstream kept only [a-z0-9], so every non-ASCII name (Korean `장미`, say)
  became ' ' and such classes silently merged. Here letters and digits of any
  script are kept; the name is NFC-normalised first, since macOS hands out
  decomposed Hangul.
  """
  name = unicodedata.normalize('NFC', folder_name).lower()
  return re.sub(r'[\W_]+', ' ', name).strip()


def set_for_file(file_name, testing_percentage, validation_percentage):
  """Which set a photo belongs to, from a stable hash of its file name.

  Upstream's rule: SHA-1 of the name with anything after `_nohash_` dropped,
  so variants of one photo stay together. Upstream hashed the whole path, so
  photos changed sets when --image_dir was spelled differently; only the
  file name is hashed here. Twins (see twin_originals) take the set of
  their original's name, not this function's.
  """
  hash_name = re.sub(r'_nohash_.*$', '', os.path.basename(file_name))
  hashed = int(hashlib.sha1(hash_name.encode('utf-8')).hexdigest(), 16)
  percentage_hash = ((hashed % (MAX_NUM_IMAGES_PER_CLASS + 1)) *
                     (100.0 / MAX_NUM_IMAGES_PER_CLASS))
  if percentage_hash < validation_percentage:
    return 'validation'
  if percentage_hash < (testing_percentage + validation_percentage):
    return 'testing'
  return 'training'


def twin_key(file_name):
  """What names of one photo share whatever their case and Unicode form."""
  return unicodedata.normalize('NFC', file_name).casefold()


def twin_originals(file_names):
  """{twin: its original} for the names of one folder that differ from
  another only in case or Unicode normalisation (`a.jpg` and `a.JPG`, or
  Hangul in NFC and macOS's NFD). The original is the one already in NFC,
  then the one in lower case (a copy's name is more often the shouted
  one), then the first in sorted order: where the original was there
  first, its set and cache file stay as they were. Names without a twin
  are not in it, so theirs do too."""
  groups = collections.defaultdict(list)
  for name in file_names:
    groups[twin_key(name)].append(name)
  twins = {}
  for names in groups.values():
    if len(names) > 1:
      original = min(names, key=lambda n: (
          unicodedata.normalize('NFC', n) != n, twin_key(n) != n, n))
      twins.update((name, original) for name in names if name != original)
  return twins


def check_image_dir(image_dir):
  """Raises UserError unless the folder `image_dir` exists."""
  if not os.path.isdir(image_dir):
    raise UserError('image folder %s does not exist' % image_dir)


def no_photos_error(image_dir):
  """The UserError of a photo folder with no photo in a class folder."""
  return UserError('no photos found in sub-folders of %s: put each class in '
                   'its own folder, e.g. %s' % (
                       image_dir, os.path.join(image_dir, 'roses', '1.jpg')))


def create_image_lists(image_dir, testing_percentage, validation_percentage):
  """Lists the photos of each class folder, divided into the three sets.

  Returns an OrderedDict, label -> {'dir': folder name, 'training': [...],
  'testing': [...], 'validation': [...]} of file names, in sorted folder
  order: that order is the label index written to the labels file.
  """
  check_image_dir(image_dir)
  image_lists = collections.OrderedDict()
  folder_of_label = {}
  all_twins = {}
  for folder in list_class_folders(image_dir):
    folder_path = os.path.join(image_dir, folder)
    file_names = photo_names_in(folder_path)
    if not file_names:
      warn('no photos found in %s, skipped' % folder_path)
      continue
    if len(file_names) < MIN_PHOTOS_PER_CLASS:
      warn('folder %s has only %d photos (fewer than %d), which may cause '
           'issues' % (folder_path, len(file_names), MIN_PHOTOS_PER_CLASS))
    label = label_for_folder(folder)
    if not label:
      raise UserError('folder name %r has no letter or digit to make a class '
                      'label from; rename it' % folder)
    if label in folder_of_label:
      raise UserError('folders %r and %r both give the class label %r; rename '
                      'one of them' % (folder_of_label[label], folder, label))
    folder_of_label[label] = folder
    sets = {set_name: [] for set_name in SET_NAMES}
    twins = twin_originals(file_names)
    for file_name in file_names:
      sets[set_for_file(twins.get(file_name, file_name), testing_percentage,
                          validation_percentage)].append(file_name)
    all_twins.update((os.path.join(folder_path, name), original)
                     for name, original in twins.items())
    image_lists[label] = dict(dir=folder, **sets)
  if all_twins:
    warn('%d photos have a twin whose name differs only in case or Unicode '
         'form, and share its set: %s' % (len(all_twins), ', '.join(
             '%s (twin of %s)' % (path, original)
             for path, original in sorted(all_twins.items()))))
  if not image_lists:
    raise no_photos_error(image_dir)
  if len(image_lists) == 1:
    raise UserError('only one class folder of photos found in %s; at least two '
                    'are needed for classification' % image_dir)
  return image_lists
