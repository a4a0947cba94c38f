"""Classifying photos with the TensorFlow Lite model, without TensorFlow.

retraining/graph/export.py converts the frozen graph into a model whose input
is the graph's `Mul`: a photo resized to the base's size and scaled to
(pixel - mean) / std, float32 [1, size, size, 3] (for Inception v3: 299,
128 and 128); its output is `final_result` ([1, classes]). The model says
its size (its input's shape) and its scaling (its metadata, as it tells
MediaPipe), so any base runs here alike (see `input_form`). What is left
to do here is what the graph does before `Mul`: decode a photo into the
very pixels the graph's DecodeJpeg would have made, resize them as its
ResizeBilinear does and scale them as its Sub and Mul do; then run the
model with LiteRT (`ai_edge_litert`).

Photos are chosen between a JPEG decoder and Pillow exactly as
retraining/graph/runner.py's `resize_photo` chooses between feeding the
graph JPEG bytes and Pillow pixels (see `photo_pixels`). JPEGs are decoded with
simplejpeg, which wraps libjpeg-turbo as TensorFlow's DecodeJpeg does, with
the same settings (fast integer DCT, fancy upsampling), and with the same
answers to CMYK and damaged files (see `jpeg_pixels`). The resizing repeats
TensorFlow's kernel in numpy, operation for operation (see `resize_bilinear`).

`photo_outputs` runs many photos as retraining/graph/runner.py's does, and
yields what it yields, so predict.py handles the two runtimes' results
alike.

Nothing here imports TensorFlow, even indirectly: only TensorFlow-free
modules of the package are used.
"""

import concurrent.futures
import contextlib
import io
import mmap

import numpy as np
import simplejpeg
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

from retraining import native_stderr_silenced
from retraining.decoding import decode_with_pillow, outcomes, read_photo
from retraining.lite import model_file
from retraining.machine import cpu_cores, keep_freed_memory, map_ahead

# simplejpeg's error message is TurboJPEG's: the libjpeg error that stopped
# the decoding or, where none did, the first warning. libjpeg's warnings
# (jerror.h's JWRN_ messages) start with these; TensorFlow's DecodeJpeg
# ignores them and decodes such a JPEG all the same. 'Premature end of JPEG
# file' is left out on purpose (see jpeg_pixels).
LIBJPEG_WARNINGS = (
    'Corrupt JPEG data', 'Unknown Adobe color transform code',
    'Inconsistent progression sequence', 'Warning: unknown JFIF revision',
    'Invalid SOS parameters for sequential JPEG',
    'Application transferred too many scanlines')
# Photos decoded while the model runs on an earlier one, in one thread. Few:
# the model uses every core, and a photo's decoding makes arrays of its full
# size.
DECODED_AHEAD_OF_MODEL = 2


# ---------------------------------------------------------------- the model

def load_model(path, num_threads=None):
  """An interpreter on the .tflite file at `path` (or the model itself, as
  bytes), run by XNNPACK (LiteRT's default CPU delegate) on `num_threads`
  threads, by default one per core."""
  model = ({'model_content': path} if isinstance(path, bytes) else
           {'model_path': path})
  with native_stderr_silenced():  # LiteRT's 'INFO: Created ... delegate'.
    interpreter = Interpreter(**model, num_threads=num_threads or cpu_cores())
    interpreter.allocate_tensors()
  return interpreter


def input_form(interpreter, path):
  """The InputForm of the model the `interpreter` runs, loaded from
  `path`; None where its metadata does not say how to scale its input.
  The file is mapped, not read: the metadata is a few hundred bytes of a
  model of up to 87 MB, which LiteRT has read already."""
  with open(path, 'rb') as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as model:
    metadata = model_file.read_metadata(model)
  scaling = metadata and model_file.normalization(metadata)
  if not scaling:
    return None
  size = int(interpreter.get_input_details()[0]['shape'][1])
  return model_file.InputForm(size, *scaling)


def classify(interpreter, photo):
  """The scores ([classes], float32) of one photo scaled for the model
  ([size, size, 3], see scaled_photo)."""
  interpreter.set_tensor(interpreter.get_input_details()[0]['index'],
                         np.asarray(photo, np.float32)[None])
  interpreter.invoke()
  return interpreter.get_tensor(interpreter.get_output_details()[0]['index'])[0]


def class_count(interpreter):
  """How many scores the model gives a photo."""
  return int(interpreter.get_output_details()[0]['shape'][-1])


@contextlib.contextmanager
def photo_outputs(interpreter, form, paths):
  """Yields an iterator of (path, scores, None), or (path, None, reason) for
  a photo that cannot be read, one per path, in order: what graph_runner's
  photo_outputs yields for the frozen graph.

  A thread decodes the next photos while the model runs (both let go of
  Python's lock while they work). Freed memory is kept from here on: each
  photo's resizing makes arrays of a megabyte, which glibc would otherwise
  map afresh and fault in page by page each time, longer than the resizing
  itself; not before, as the model's weights load faster in fresh memory.
  """
  with scaled_photos(paths, form) as photos:
    yield ((path, None if failure else classify(interpreter, photo), failure)
           for path, photo, failure in photos)


@contextlib.contextmanager
def scaled_photos(paths, form):
  """Yields an iterator of (path, photo, None), or (path, None, reason) for
  a photo that cannot be read, one per path, in order: each photo scaled
  as `form` (an InputForm) says by scaled_photo, in a thread ahead of its
  use."""
  keep_freed_memory()
  with concurrent.futures.ThreadPoolExecutor(1) as decoder:
    try:
      yield outcomes(paths, map_ahead(decoder, lambda path: scaled_photo(path, form),
                                      paths, DECODED_AHEAD_OF_MODEL))
    finally:
      decoder.shutdown(cancel_futures=True)


# ---------------------------------------------------------------- photos

def scaled_photo(path, form):
  """A photo as the frozen graph's `Mul` gives it: decoded, resized and
  scaled as `form` (an InputForm) says, float32 [size, size, 3]. Raises
  BadPhoto."""
  return scaled(resize_bilinear(photo_pixels(path), form.size, form.size), form)


def scaled(pixels, form):
  """(pixels - mean) / std, as the graph's Sub and Mul (by the float32
  of 1 / std) compute it."""
  return (pixels - np.float32(form.mean)) * np.float32(1 / form.std)


def resize_bilinear(pixels, height, width):
  """The uint8 `pixels` [h, w, 3] resized to [height, width, 3], float32,
  as TensorFlow's ResizeBilinear (align_corners=False,
  half_pixel_centers=False) resizes them, value for value.

  Its kernel (resize_bilinear_op.cc) maps output row y to the source row
  y * (h / height) in float32, blends the rows floor() and ceil() of it
  (the last row at most) by its fraction, and the same for columns: the
  top and bottom pairs of pixels across, then the two results down.
  """
  top, bottom, y_fraction = source_positions(pixels.shape[0], height)
  left, right, x_fraction = source_positions(pixels.shape[1], width)
  x_fraction, y_fraction = x_fraction[None, :, None], y_fraction[:, None, None]
  upper, lower = pixels.take(top, axis=0), pixels.take(bottom, axis=0)
  return lerp(lerp(upper.take(left, axis=1), upper.take(right, axis=1), x_fraction),
              lerp(lower.take(left, axis=1), lower.take(right, axis=1), x_fraction),
              y_fraction)


def lerp(start, end, fraction):
  """start + (end - start) * fraction, each step rounded to float32 as in
  TensorFlow's kernel. A float32 `end` is overwritten with the result."""
  start = start.astype(np.float32, copy=False)
  end = end.astype(np.float32, copy=False)
  end -= start
  end *= fraction
  end += start
  return end


def source_positions(in_size, out_size):
  """(lower, upper, fraction) of the source positions of `out_size`
  outputs over `in_size` inputs, as TensorFlow's legacy scaler places them."""
  scale = np.float32(in_size) / np.float32(out_size)
  position = np.arange(out_size, dtype=np.float32) * scale
  lower = np.floor(position)
  upper = np.minimum(np.ceil(position), in_size - 1)
  return lower.astype(np.intp), upper.astype(np.intp), position - lower


def photo_pixels(path):
  """A photo's pixels as the frozen graph's DecodeJpeg gives them: uint8
  [height, width, 3].

  As in graph_runner.resize_photo: a JPEG that needs no rotation is decoded as
  DecodeJpeg would decode it; anything else, and a JPEG DecodeJpeg would
  reject, is decoded by Pillow (retraining/decoding.py). Raises BadPhoto.
  """
  kind, data = read_photo(path)
  if kind == 'jpeg':
    try:
      data = jpeg_pixels(data)
    except ValueError:
      data = decode_with_pillow(io.BytesIO(data))
  return data


def jpeg_pixels(data):
  """The uint8 pixels [height, width, 3] TensorFlow's DecodeJpeg (channels=3)
  gives for the JPEG `data`; ValueError where DecodeJpeg fails.

  Both decode with libjpeg-turbo, the fast integer DCT and fancy
  upsampling. Grey JPEGs come out with the grey copied into R, G and B in
  both. CMYK (and YCCK) JPEGs DecodeJpeg turns into RGB by its own formula,
  repeated in `cmyk_to_rgb`. DecodeJpeg ignores libjpeg's warnings (about
  damaged data it decodes anyway) but fails where the data ends too soon;
  simplejpeg's TurboJPEG calls a missing end a warning ('Premature end of
  JPEG file') and fills in the rest, so that one is an error here.

  TurboJPEG cannot decode a JPEG with a warning in its header (stray bytes
  between two header segments) nor one with unusual sampling factors, which
  DecodeJpeg decodes: for those rare files the caller's fallback (Pillow)
  gives pixels a level or two off.
  """
  cmyk, adobe = cmyk_header(data)
  try:
    pixels = decode_jpeg(data, cmyk, strict=True)
  except ValueError as e:
    if not str(e).startswith(LIBJPEG_WARNINGS):
      raise
    pixels = decode_jpeg(data, cmyk, strict=False)
  return cmyk_to_rgb(pixels, adobe) if cmyk else pixels


def decode_jpeg(data, cmyk, strict):
  return simplejpeg.decode_jpeg(data, colorspace='CMYK' if cmyk else 'RGB',
                                fastdct=True, fastupsample=False, strict=strict)


def cmyk_header(data):
  """(whether the JPEG has four channels, CMYK or YCCK; whether it has the
  APP14 'Adobe' segment libjpeg looks for), from Pillow's reading of its
  header, which unlike TurboJPEG's does not stop at a warning."""
  try:
    with Image.open(io.BytesIO(data)) as image:
      return image.mode == 'CMYK', 'adobe_transform' in image.info
  except Exception:  # A broken header: let the decoder report it.
    return False, False


def cmyk_to_rgb(cmyk, adobe):
  """TensorFlow's CMYK -> RGB (jpeg_mem.cc): Adobe's files store inverted
  CMYK, so there R = K * C / 255; otherwise R = (255 - K) * (255 - C) / 255
  (likewise G from M and B from Y), rounded down."""
  values = cmyk.astype(np.int32)
  if not adobe:
    values = 255 - values
  return (values[:, :, :3] * values[:, :, 3:] // 255).astype(np.uint8)
