"""Converting retrain.py's frozen graph into a TensorFlow Lite model.

The model starts at the graph's `Cast`, the decoded photo as float32 pixels
[height, width, 3] of any size, so the graph's own ExpandDims,
ResizeBilinear, Sub and Mul are inside it and a photo goes in as it is
decoded; it ends at the new layer's softmax ([1, classes]). The JPEG decoder
stays out (LiteRT has no DecodeJpeg): retraining/litert_runner.py decodes photos
into the same pixels without TensorFlow.

The graph's two PlaceholderWithDefault nodes (`input/ResizedImages` and
`input/BottleneckInputPlaceholder`, see retraining/rewrite.py) are fed by
their defaults inside the model: the converter turns each into a plain
pass-through, so neither becomes an input.
"""

from absl import logging as absl_logging

from retraining import UserError, native_stderr_silenced
from retraining.inception import DECODED_IMAGE_NODE, PHOTO_INPUT_NODE
from retraining.tensorflow_v1 import tf1

PHOTO_INPUT_SHAPE = [-1, -1, 3]  # [height, width, RGB]; -1: any size.


def tflite_model(frozen_graph_def, final_tensor_name):
  """The float32 .tflite model (bytes) of the frozen graph retrain.py
  exported: input the pixels at `Cast` ([height, width, 3], any size),
  output `final_tensor_name` ([1, classes]).

  The converter is given the two nodes by name and reads
  `frozen_graph_def` itself: importing the graph into TensorFlow first, to
  hand it tensors, would hold the model's weights once more and take a
  few tenths of a second for nothing.
  """
  check_photo_input(frozen_graph_def)
  converter = tf1.lite.TFLiteConverter(
      frozen_graph_def, None, None,
      input_arrays_with_shape=[(PHOTO_INPUT_NODE, PHOTO_INPUT_SHAPE)],
      output_arrays=[final_tensor_name])
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


def check_photo_input(graph_def):
  """Raises UserError unless the graph's `Cast` reads DecodeJpeg's pixels."""
  cast = next((node for node in graph_def.node
               if node.name == PHOTO_INPUT_NODE), None)
  if cast is None or list(cast.input[:1]) != [DECODED_IMAGE_NODE]:
    raise UserError('the graph has no %s node reading %s: was it written by '
                    'retrain.py?' % (PHOTO_INPUT_NODE, DECODED_IMAGE_NODE))
