"""A Keras application frozen into a graph of the same form as the rewritten
2015 graph (see rewrite.py), so that everything after it runs any base
alike.

The architecture is Keras' own (`keras.applications`), without its top,
averaged into one vector per photo, with the weights file Keras downloads
for it. Its graph is, node by node:

  DecodeJpeg/contents -> DecodeJpeg -> Cast -> ExpandDims -> ResizeBilinear
  -> input/ResizedImages -> Sub -> Mul -> <the Keras model> -> bottleneck

the head with the same ops and attributes as the 2015 graph's, so that
photos decode and resize alike, and the .tflite starts at `Mul` as
Inception's does. The model's variables become constants
(convert_variables_to_constants_v2), in inference mode. Beside these
nodes, the graph carries its body converted for LiteRT (see lite_body.py).
"""

import os

from retraining import UserError, files
from retraining.bases import (
  BATCH_INPUT_NODE,
  DECODED_IMAGE_NODE,
  JPEG_DATA_TENSOR_NAME,
  MODEL_INPUT_DEPTH,
  RESIZED_IMAGE_NODE,
  SCALED_IMAGE_NODE,
)
from retraining.graph import lite_body, nodes
from retraining.graph.tensorflow_v1 import tf, tf1


def freeze(base, weights_path, graph_path):
  """Writes the graph of `base` (a Keras one, see bases.py), with the
  weights file at `weights_path`, to `graph_path`, whole or not at all."""
  data = frozen_graph_def(base, weights_path).SerializeToString(deterministic=True)
  try:
    files.write_bytes(graph_path, data)
  except OSError as e:
    raise UserError('cannot write %s (%s): free space in %s or give '
                    '--model_dir elsewhere' % (
                        graph_path, e.strerror or e, os.path.dirname(graph_path)))


def frozen_graph_def(base, weights_path):
  """The GraphDef this module's docstring describes."""
  body, input_name, output_name = frozen_model(base, weights_path)
  size = base.input_size
  graph = tf.Graph()
  with graph.as_default():
    jpeg = tf1.placeholder(tf.string, [], name=nodes.node_name(JPEG_DATA_TENSOR_NAME))
    decoded = tf.raw_ops.DecodeJpeg(
        contents=jpeg, channels=MODEL_INPUT_DEPTH, ratio=1, fancy_upscaling=True,
        try_recover_truncated=False, acceptable_fraction=1.0,
        name=DECODED_IMAGE_NODE)
    pixels = tf.expand_dims(tf.cast(decoded, tf.float32, name='Cast'), 0,
                            name='ExpandDims')
    resized = tf.raw_ops.ResizeBilinear(images=pixels, size=[size, size],
                                        align_corners=False,
                                        name=RESIZED_IMAGE_NODE)
    batch = tf1.placeholder_with_default(
        resized, [None, size, size, MODEL_INPUT_DEPTH], name=BATCH_INPUT_NODE)
    scaled = tf.multiply(tf.subtract(batch, base.pixel_mean, name='Sub'),
                         1 / base.pixel_std, name=SCALED_IMAGE_NODE)
    pooled, = tf1.import_graph_def(body, input_map={input_name: scaled},
                                   return_elements=[output_name], name=base.name)
    tf.identity(pooled, name=base.bottleneck_node)
  graph_def = nodes.subgraph(graph.as_graph_def(), [base.bottleneck_node])
  for node in graph_def.node:
    # A training-only mark numbered by a counter of the process (on swish
    # activations): the same weights would give other bytes in a second
    # build.
    if '_gradient_op_type' in node.attr:
      del node.attr['_gradient_op_type']
  return lite_body.with_converted_body(graph_def, base.bottleneck_tensor)


def frozen_model(base, weights_path):
  """(GraphDef, its input's name, its output's name) of the Keras
  application of `base` with the weights at `weights_path`, without its
  top, averaged, its variables made constants. The session is cleared
  first: Keras numbers the names of a second model built in one process."""
  from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2,
  )
  keras = tf.keras
  keras.backend.clear_session()
  size = base.input_size
  try:
    model = getattr(keras.applications, base.keras.function)(
        include_top=False, weights=weights_path, pooling='avg',
        input_shape=(size, size, MODEL_INPUT_DEPTH), **base.keras.options)
  except Exception as e:  # h5py's and Keras' errors on a wrong file
    raise UserError('%s is not the weights file of %s (%s); delete it and '
                    'run again' % (weights_path, base.title,
                                   str(e).splitlines()[0] if str(e) else type(e).__name__))
  function = tf.function(lambda x: model(x, training=False)).get_concrete_function(
      tf.TensorSpec([None, size, size, MODEL_INPUT_DEPTH], tf.float32))
  frozen = convert_variables_to_constants_v2(function)
  return (frozen.graph.as_graph_def(), frozen.inputs[0].name,
          frozen.outputs[0].name)
