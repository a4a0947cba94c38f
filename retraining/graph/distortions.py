"""Upstream's random crop, scale, flip and brightness of training photos.

With any of them, each training step needs the bottlenecks of freshly
distorted copies of its photos: they are decoded and distorted one by one
in a small session of their own, then go through the base's body like any
other photo (see retraining/graph/runner.py).
"""

import collections
import contextlib

import numpy as np

from retraining import UserError
from retraining.bases import MODEL_INPUT_DEPTH
from retraining.graph import runner as graph_runner
from retraining.graph.tensorflow_v1 import tf, tf1

# retrain.py's four distortion flags: whether to flip, and the percentages
# of the crop, the scale and the brightness. None of them: no distortion.
Distortions = collections.namedtuple(
    'Distortions', 'flip_left_right random_crop random_scale random_brightness')


@contextlib.contextmanager
def distorted_bottlenecks(base_graph_def, base, seed, distortions):
  """Yields bottlenecks(paths) -> [n, the base's bottleneck size], those of
  freshly distorted copies of the photos; or None if `distortions` has
  none."""
  if not any(distortions):
    yield None
    return
  graph = tf.Graph()
  with graph.as_default():
    tf1.set_random_seed(seed)
    head = add_input_distortions(distortions, base.input_size)
  # Distorted by one thread, one photo after another: the random ops then
  # draw in the order of the photos, so the same seed gives the same copies
  # (threads would draw in the order they happened to run).
  with contextlib.closing(tf1.Session(graph=graph,
                                      config=graph_runner.session_config())) as sess, \
      graph_runner.photo_model(base_graph_def, base.bottleneck_tensor,
                               head=(sess, head), decode_threads=1,
                               body=graph_runner.body_opener(base)) as outputs:

    def bottlenecks(paths):
      values = []
      for path, bottleneck, failure in outputs(paths):
        if failure:  # Every photo here was read once already.
          raise UserError('photo %s cannot be read any more: %s' % (path, failure))
        values.append(bottleneck)
      return np.stack(values)
    yield bottlenecks


def add_input_distortions(distortions, size):
  """Upstream's distortions of one photo, in the default graph.

  Returns the names of (jpeg input, decoded image, distorted [1, size,
  size, 3]): the same three points as the graph's own decoding head, so
  photos reach it the same way (see runner.resize_photo).
  """
  flip_left_right, random_crop, random_scale, random_brightness = distortions
  jpeg_data = tf1.placeholder(tf.string, name='DistortJPGInput')
  decoded_image = tf.image.decode_jpeg(jpeg_data, channels=MODEL_INPUT_DEPTH)
  decoded_image_4d = tf.expand_dims(tf.cast(decoded_image, tf.float32), 0)
  margin_scale = 1.0 + (random_crop / 100.0)
  resize_scale = 1.0 + (random_scale / 100.0)
  scale_value = margin_scale * tf1.random_uniform([], 1.0, resize_scale)
  precrop_shape = tf.cast(tf.stack([scale_value * size,
                                    scale_value * size]), tf.int32)
  precropped_image = tf1.image.resize_bilinear(decoded_image_4d, precrop_shape)
  cropped_image = tf1.random_crop(
      tf.squeeze(precropped_image, [0]),
      [size, size, MODEL_INPUT_DEPTH])
  if flip_left_right:
    cropped_image = tf.image.random_flip_left_right(cropped_image)
  brightness_value = tf1.random_uniform([], 1.0 - random_brightness / 100.0,
                                        1.0 + random_brightness / 100.0)
  distort_result = tf.expand_dims(cropped_image * brightness_value, 0,
                                  name='DistortResult')
  return jpeg_data.name, decoded_image.name, distort_result.name
