"""Reading a photo file as the graph should see it: JPEG bytes for the
graph's own decoder, or pixels decoded by Pillow; and BadPhoto, why a file
cannot be used (no TensorFlow)."""

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

JPEG_MAGIC = b'\xff\xd8\xff'
EXIF_ORIENTATION = 0x0112


class BadPhoto(Exception):
  """A photo that cannot be used; the message says why."""


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
