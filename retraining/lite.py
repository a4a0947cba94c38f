"""Converting retrain.py's frozen graph into a TensorFlow Lite model.

The model starts at the graph's `Cast`, the decoded photo as float32 pixels
[height, width, 3] of any size, so the graph's own ExpandDims,
ResizeBilinear, Sub and Mul are inside it and a photo goes in as it is
decoded; it ends at the new layer's softmax ([1, classes]). The JPEG decoder
stays out (LiteRT has no DecodeJpeg): retraining/litert.py decodes photos
into the same pixels without TensorFlow.

The graph's two PlaceholderWithDefault nodes (`input/ResizedImages` and
`input/BottleneckInputPlaceholder`, see retraining/rewrite.py) are fed by
their defaults inside the model: the converter turns each into a plain
pass-through, so neither becomes an input.
"""

from absl import logging as absl_logging

from retraining import UserError, native_stderr_silenced
from retraining.tensorflow_v1 import tf, tf1

DECODED_IMAGE_NODE = 'DecodeJpeg'
PHOTO_INPUT_NODE = 'Cast'  # DecodeJpeg's uint8 pixels as float32.


def tflite_model(frozen_graph_def, final_tensor_name):
  """The float32 .tflite model (bytes) of the frozen graph retrain.py
  exported: input the pixels at `Cast` ([height, width, 3], any size),
  output `final_tensor_name` ([1, classes]).

  The graph is imported only to name the two tensors and give the input its
  shape; the converter reads `frozen_graph_def` itself.
  """
  graph = tf.Graph()
  with graph.as_default():
    tf1.import_graph_def(frozen_graph_def, name='')
  photo = photo_input(graph)
  scores = graph.get_tensor_by_name(final_tensor_name + ':0')
  converter = tf1.lite.TFLiteConverter(frozen_graph_def, [photo], [scores])
  # The converter's own record of how it ran (versions, options) costs a
  # second pass over the whole model; nothing reads it.
  converter.exclude_conversion_metadata = True
  # The converter logs how it works to stderr, from C++ and through absl.
  verbosity = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.WARNING)
  try:
    with native_stderr_silenced():
      return converter.convert()
  finally:
    absl_logging.set_verbosity(verbosity)


def photo_input(graph):
  """The graph's float32 pixels right after DecodeJpeg, [None, None, 3]."""
  try:
    cast = graph.get_operation_by_name(PHOTO_INPUT_NODE)
  except KeyError:
    cast = None
  if cast is None or cast.inputs[0].op.name != DECODED_IMAGE_NODE:
    raise UserError('the graph has no %s node reading %s: was it written by '
                    'retrain.py?' % (PHOTO_INPUT_NODE, DECODED_IMAGE_NODE))
  photo = cast.outputs[0]
  photo.set_shape([None, None, 3])
  return photo
