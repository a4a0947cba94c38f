"""Naming classes, splitting photos into sets and decoding them; the photo
files themselves are found by retraining/listing.py."""

import collections
import hashlib
import io
import os
import re
import unicodedata
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from retraining import UserError, warn
from retraining.listing import list_class_folders, photo_names_in

MAX_NUM_IMAGES_PER_CLASS = 2 ** 27 - 1  # ~134M, as upstream
MIN_PHOTOS_PER_CLASS = 20
CATEGORIES = ('training', 'testing', 'validation')
JPEG_MAGIC = b'\xff\xd8\xff'
EXIF_ORIENTATION = 0x0112


class BadPhoto(Exception):
  """A photo that cannot be used; the message says why."""


def label_for_folder(folder_name):
  """The class label of a photo folder: lower-case words, single spaces.

  Upstream kept only [a-z0-9], so every non-ASCII name (Korean `장미`, say)
  became ' ' and such classes silently merged. Here letters and digits of any
  script are kept; the name is NFC-normalised first, since macOS hands out
  decomposed Hangul.
  """
  name = unicodedata.normalize('NFC', folder_name).lower()
  return re.sub(r'[\W_]+', ' ', name).strip()


def split_for_file(file_name, testing_percentage, validation_percentage):
  """Which set a photo belongs to, from a stable hash of its file name.

  Upstream's rule: SHA-1 of the name with anything after `_nohash_` dropped,
  so variants of one photo stay together. Upstream hashed the whole path, so
  the split moved when --image_dir was spelled differently; only the file
  name is hashed here. Twins (see twin_originals) are split by their
  original's name, not this function's.
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
  first, its split and cache file stay as they were. Names without a twin
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


def create_image_lists(image_dir, testing_percentage, validation_percentage):
  """Lists the photos of each class folder, split into the three sets.

  Returns an OrderedDict, label -> {'dir': folder name, 'training': [...],
  'testing': [...], 'validation': [...]} of file names, in sorted folder
  order: that order is the label index written to the labels file.
  """
  if not os.path.isdir(image_dir):
    raise UserError('image folder %s does not exist' % image_dir)
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
    sets = {category: [] for category in CATEGORIES}
    twins = twin_originals(file_names)
    for file_name in file_names:
      sets[split_for_file(twins.get(file_name, file_name), testing_percentage,
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
    raise UserError('no photos found in sub-folders of %s: put each class in '
                    'its own folder, e.g. %s' % (
                        image_dir, os.path.join(image_dir, 'roses', '1.jpg')))
  if len(image_lists) == 1:
    raise UserError('only one class folder of photos found in %s; at least two '
                    'are needed for classification' % image_dir)
  return image_lists


def read_photo(path):
  """Reads a photo as the graph should see it.

  Returns ('jpeg', bytes) for a JPEG that needs no rotation: those bytes go
  to the graph's own DecodeJpeg, exactly like the real graph's users feed it.
  Anything else (PNG, GIF, BMP, WebP, a rotated JPEG, a JPEG TensorFlow
  rejects) is decoded once with Pillow: ('pixels', uint8 array [h, w, 3]).
  Raises BadPhoto for a file that cannot be read as a photo.
  """
  try:
    with open(path, 'rb') as f:
      data = f.read()
  except OSError as e:
    raise BadPhoto('cannot read it (%s)' % e.strerror)
  return photo_from_bytes(data)


def photo_from_bytes(data):
  """read_photo for a photo file's bytes, read from wherever it lives (a
  bucket, for cache_bottlenecks.py's workers)."""
  if not data:
    raise BadPhoto('the file is empty')
  if data.startswith(JPEG_MAGIC) and not needs_rotation(data):
    return 'jpeg', data
  return 'pixels', decode_with_pillow(io.BytesIO(data))


def needs_rotation(jpeg_data):
  try:
    with Image.open(io.BytesIO(jpeg_data)) as image:
      return image.getexif().get(EXIF_ORIENTATION, 1) != 1
  except Exception:  # A broken header: let the decoder report it.
    return False


def decode_with_pillow(path):
  """Decodes any format Pillow knows to RGB, upright, as a uint8 array;
  `path` may also be a file object."""
  try:
    with warnings.catch_warnings():
      warnings.simplefilter('error', Image.DecompressionBombWarning)
      with Image.open(path) as image:
        image.seek(0)  # First frame of an animation.
        image = ImageOps.exif_transpose(image)
        return to_rgb_array(image)
  except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
    raise BadPhoto('too large to decode safely (%s)' % e)
  except UnidentifiedImageError:
    raise BadPhoto('not an image format Pillow or TensorFlow can read')
  except Exception as e:  # Pillow raises many types for broken files.
    raise BadPhoto('not a readable image (%s)' % (str(e) or type(e).__name__))


def to_rgb_array(image):
  if image.mode.startswith('I'):  # 16- or 32-bit grey: scale to 8 bits.
    values = np.asarray(image).astype(np.float64)
    top = 65535.0 if values.max() > 255 else 255.0
    grey = np.clip(values * (255.0 / top), 0, 255).round().astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)
  if image.mode in ('RGBA', 'LA', 'PA') or 'transparency' in image.info:
    background = Image.new('RGBA', image.size, (255, 255, 255, 255))
    image = Image.alpha_composite(background, image.convert('RGBA'))
  return np.asarray(image.convert('RGB'), dtype=np.uint8)


def outcomes(paths, futures):
  """(path, the future's result, None), or (path, None, reason) where the
  photo could not be read (BadPhoto), for each path and its future."""
  for path, future in zip(paths, futures):
    try:
      yield path, future.result(), None
    except BadPhoto as e:
      yield path, None, str(e)
