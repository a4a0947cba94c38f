"""TensorFlow, imported once for the whole package, quiet, with its v1 API.

retrain.py and predict.py build and run graphs as the original script did,
through `tf.compat.v1` (`tf1` here). Importing TensorFlow from this module
keeps its C++ start-up logs (oneDNN, CUDA drivers) and v1 deprecation
notices out of the output.
"""

import os

from retraining import native_stderr_silenced
from retraining.machine import keep_freed_memory

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
with native_stderr_silenced():  # Logged before TF_CPP_MIN_LOG_LEVEL is read.
  import tensorflow as tf
  tf.config.list_physical_devices()  # Its "no CUDA driver" lines, now.

tf1 = tf.compat.v1
tf1.logging.set_verbosity(tf1.logging.ERROR)


def set_up_process():
  """What every process that computes bottlenecks or trains does first:
  TensorFlow's ops made deterministic (the same photos, flags and seed give
  the same bytes), and freed memory kept for reuse (see machine.py)."""
  tf.config.experimental.enable_op_determinism()
  keep_freed_memory()


def onednn_enabled():
  """Whether this process runs TensorFlow's oneDNN kernels (its default on
  some CPUs, or TF_ENABLE_ONEDNN_OPTS=1). Where the answer is unknown (the
  call is TensorFlow's own, not public), True: the choice that keeps the
  bytes the same either way (see runner.photo_outputs)."""
  try:
    from tensorflow.python.util import _pywrap_util_port
    return bool(_pywrap_util_port.IsMklEnabled())
  except (ImportError, AttributeError):
    return True
