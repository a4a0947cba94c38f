"""Weights files for the Keras bases, made by the tests: the real
architecture from `keras.applications`, weights drawn here, saved in the
format and under the name of the file Keras publishes for it.

Keras' own ImageNet weights cannot be downloaded on these machines, so the
tests run each base's real architecture with these instead. Keras'
default initialisation gives every photo almost the same features (about
1e-10), so each convolution's kernel is drawn He-normal, and the last one
is scaled so that the features are of the order of one.

Usage: python tests/keras_weights.py BASE FOLDER (writes the weights file)
"""

import argparse
import os
import sys

import numpy as np

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflow as tf  # noqa: E402

from retraining.bases import BASES  # noqa: E402

keras = tf.keras


def write_weights(base, folder, seed=0):
  """Writes the weights file of `base` into `folder`, under Keras' name for
  it; returns its path."""
  keras.backend.clear_session()
  size = base.input_size
  model = getattr(keras.applications, base.keras.function)(
      include_top=False, weights=None, pooling='avg',
      input_shape=(size, size, 3), **base.keras.options)
  rng = np.random.default_rng(seed)
  convolutions = [layer for layer in model.layers if isinstance(
      layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]
  for layer in convolutions:
    weights = layer.get_weights()
    kernel = weights[0]
    fan_in = np.prod(kernel.shape[:2]) * (
        1 if isinstance(layer, keras.layers.DepthwiseConv2D) else kernel.shape[2])
    weights[0] = rng.normal(0, np.sqrt(2 / fan_in), kernel.shape).astype(np.float32)
    layer.set_weights(weights)
  photos = rng.uniform(-1, 1, (4, size, size, 3)).astype(np.float32)
  spread = float(np.std(model(photos, training=False)))
  last = convolutions[-1]
  weights = last.get_weights()
  weights[0] /= max(spread, 1e-6)
  last.set_weights(weights)
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, base.keras.weights_file)
  model.save(path)
  return path


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('base', choices=[n for n, b in BASES.items() if b.keras])
  parser.add_argument('folder')
  args = parser.parse_args()
  print(write_weights(BASES[args.base], args.folder))


if __name__ == '__main__':
  main()
