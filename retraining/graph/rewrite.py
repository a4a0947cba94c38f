"""A base's graph in the fast, batchable form photos run through: GraphDef
in, GraphDef out, nothing run.

The 2015 graph `classify_image_graph_def.pb` takes one photo per run (the
reshape after `pool_3` has the constant shape [1, 2048]), uses the legacy
`BatchNormWithGlobalNormalization` op that TensorFlow 2 only runs in graphs of
producer version < 9, and the legacy `Concat`. `fast_graph_def` rewrites it:
batch norm folded into the convolutions, `ConcatV2`, and a batch input
`input/ResizedImages` placed between the graph's own decoding head
(DecodeJpeg -> Cast -> ExpandDims -> ResizeBilinear) and its body. Feeding the
JPEG bytes to `DecodeJpeg/contents:0` still works exactly as before, so the
same rewritten graph serves retrain.py, predict.py and the exported model.
The graphs of the other bases (bases.py) are frozen in this form already.

`body_graph_def` cuts out the body for a session to run (runner.py), with
each convolution fused with its bias and ReLU; `attach_final_layer` joins
the base and the trained layer into the graph retrain.py exports.
"""

import numpy as np

from retraining import UserError, files
from retraining.bases import (
  BATCH_INPUT_NODE,
  INCEPTION_V3,
  JPEG_DATA_TENSOR_NAME,
  MODEL_INPUT_DEPTH,
  RESIZED_IMAGE_NODE,
  RESIZED_IMAGE_TENSOR_NAME,
)
from retraining.graph.nodes import (
  const_value,
  consumers_of,
  copy_graph_def,
  float_placeholder,
  make_const,
  node_name,
  reachable_nodes,
  subgraph,
)
from retraining.graph.tensorflow_v1 import tf, tf1
from retraining.machine import aligned


def read_graph_def(path):
  return parse_graph_def(files.read_bytes(path), path)


def parse_graph_def(data, path):
  """The GraphDef serialised in `data`, read from `path`."""
  graph_def = tf1.GraphDef()
  try:
    graph_def.ParseFromString(data)
  except Exception:  # protobuf's DecodeError
    raise UserError('%s is not a TensorFlow graph (GraphDef); delete it and '
                    'run again' % path)
  return graph_def


def fast_graph_def(graph_def, path='the graph'):
  """The graph (read from `path`) in the form this module's docstring says.
  A graph in that form already (a Keras base's, see keras_bases.py, or one
  retrain.py wrote) is only copied; any other must be the 2015 graph, or a
  graph retrained on it by the original retrain.py."""
  names = {node.name for node in graph_def.node}
  legacy = BATCH_INPUT_NODE not in names
  for required in (node_name(JPEG_DATA_TENSOR_NAME), RESIZED_IMAGE_NODE) + (
      (INCEPTION_V3.bottleneck_node,) if legacy else ()):
    if required not in names:
      raise UserError('%s has no node %s: is it a graph retrain.py wrote, or '
                      'classify_image_graph_def.pb from %s?' % (
                          path, required, 'inception-2015-12-05.tgz'))
  graph_def = copy_graph_def(graph_def)
  if legacy:
    fold_batch_norms(graph_def)
    modernize_concats(graph_def)
    add_batch_input(graph_def, INCEPTION_V3)
  # No legacy op is left, so the graph can say it was written today.
  graph_def.versions.producer = tf.version.GRAPH_DEF_VERSION
  return graph_def


def fold_batch_norms(graph_def):
  """Replaces each BatchNormWithGlobalNormalization by a BiasAdd.

  out = (x - mean) * scale + beta with scale = gamma / sqrt(var + eps) when
  scale_after_normalization, else 1 / sqrt(var + eps). When x comes from a
  Conv2D with a constant filter used by nothing else, the scale goes into
  the filter's output channels; otherwise an explicit Mul is kept. The node
  keeps its name, so its consumers need no change.
  """
  nodes = {node.name: node for node in graph_def.node}
  consumers = consumers_of(graph_def)
  added = []
  for node in graph_def.node:
    if node.op != 'BatchNormWithGlobalNormalization':
      continue
    x_name, mean, var, beta, gamma = (node_name(i) for i in node.input)
    eps = node.attr['variance_epsilon'].f
    scale = 1.0 / np.sqrt(const_value(nodes[var]).astype(np.float64) + eps)
    if node.attr['scale_after_normalization'].b:
      scale = scale * const_value(nodes[gamma])
    bias = const_value(nodes[beta]) - const_value(nodes[mean]) * scale
    conv = nodes[x_name]
    filter_node = nodes.get(node_name(conv.input[1])) if conv.op == 'Conv2D' else None
    if (filter_node is not None and filter_node.op == 'Const'
        and len(consumers[conv.name]) == 1
        and len(consumers[filter_node.name]) == 1):
      filter_tensor = filter_node.attr['value'].tensor
      folded = const_value(filter_node) * scale.astype(np.float32)
      filter_tensor.ClearField('float_val')  # Small constants may use it.
      filter_tensor.tensor_content = folded.tobytes()
      scaled_input = x_name
    else:
      added.append(make_const(node.name + '/folded_scale', scale.astype(np.float32)))
      mul = tf1.NodeDef(name=node.name + '/folded_mul', op='Mul',
                        input=[node.input[0], added[-1].name])
      mul.attr['T'].type = tf.float32.as_datatype_enum
      added.append(mul)
      scaled_input = mul.name
    added.append(make_const(node.name + '/folded_bias', bias.astype(np.float32)))
    node.op = 'BiasAdd'
    del node.input[:]
    node.input.extend([scaled_input, added[-1].name])
    for attr in ('variance_epsilon', 'scale_after_normalization'):
      del node.attr[attr]
    node.attr['data_format'].s = b'NHWC'
  graph_def.node.extend(added)


def modernize_concats(graph_def):
  """Concat(dim, values...) -> ConcatV2(values..., axis)."""
  for node in graph_def.node:
    if node.op == 'Concat':
      inputs = list(node.input)
      node.op = 'ConcatV2'
      del node.input[:]
      node.input.extend(inputs[1:] + inputs[:1])
      node.attr['Tidx'].type = tf.int32.as_datatype_enum


def add_batch_input(graph_def, base):
  """Puts a [None, 299, 299, 3] input between the 2015 graph's decoding head
  and its body.

  It is a PlaceholderWithDefault fed by ResizeBilinear, so a single JPEG fed
  to DecodeJpeg/contents:0 still flows through; and pool_3's reshape becomes
  [-1, 2048] so a batch comes out as a batch.
  """
  nodes = {node.name: node for node in graph_def.node}
  for node in graph_def.node:
    for i, name in enumerate(node.input):
      if name in (RESIZED_IMAGE_NODE, RESIZED_IMAGE_TENSOR_NAME):
        node.input[i] = BATCH_INPUT_NODE
  shape = nodes[node_name(nodes[base.bottleneck_node].input[1])]
  shape.attr['value'].tensor.CopyFrom(tf.make_tensor_proto(
      np.array([-1, base.bottleneck_size], dtype=np.int32)))
  batch_input = tf1.NodeDef(name=BATCH_INPUT_NODE, op='PlaceholderWithDefault',
                            input=[RESIZED_IMAGE_NODE])
  batch_input.attr['dtype'].type = tf.float32.as_datatype_enum
  batch_input.attr['shape'].shape.CopyFrom(batch_input_shape(base))
  graph_def.node.extend([batch_input])


def batch_input_shape(base):
  """The shape of the batch input: [None, size, size, 3]."""
  return tf.TensorShape([None, base.input_size, base.input_size,
                         MODEL_INPUT_DEPTH]).as_proto()


def body_graph_def(graph_def, output_name, feed_weights):
  """What `output_name` needs from the batch input on: returns (GraphDef,
  weights {tensor name: array}).

  The batch input becomes a plain placeholder, so neither the decoding head
  nor ImageNet's 1,008-way softmax is in it, and convolutions are fused with
  their bias and ReLU. With `feed_weights`, each float constant (a weight)
  becomes a placeholder of its shape, its value going to `weights`, which is
  otherwise empty.
  """
  weights = {}

  def lifted(node):
    if node.name == BATCH_INPUT_NODE:
      return float_placeholder(node.name, node.attr['shape'].shape)
    if (feed_weights and node.op == 'Const'
        and node.attr['dtype'].type == tf.float32.as_datatype_enum):
      weights[node.name + ':0'] = aligned(const_value(node))
      return float_placeholder(node.name, node.attr['value'].tensor.tensor_shape)
    return node
  body = subgraph(graph_def, [node_name(output_name)], {BATCH_INPUT_NODE}, lifted)
  fuse_conv_bias_relu(body)
  return body, weights


def fuse_conv_bias_relu(graph_def):
  """Each Conv2D -> BiasAdd -> Relu chain becomes one `_FusedConv2D` node.

  It keeps the Relu's name, so consumers need no change. TensorFlow's own
  optimizer (Grappler's remapper) does the same rewrite, but on Inception's
  big graph its first run costs more than the fusion saves on a few hundred
  photos.
  The fused op is TensorFlow-internal, so this is for the graph a session
  runs, never for the graph retrain.py exports.
  """
  nodes = {node.name: node for node in graph_def.node}
  consumers = consumers_of(graph_def)

  def data_format(node):
    return node.attr['data_format'].s if 'data_format' in node.attr else b'NHWC'

  def only_input(node, op):
    source = nodes.get(node_name(node.input[0]))
    if source is not None and source.op == op and len(consumers[source.name]) == 1:
      return source
    return None

  fused = set()
  for relu in graph_def.node:
    bias = only_input(relu, 'BiasAdd') if relu.op == 'Relu' else None
    conv = only_input(bias, 'Conv2D') if bias is not None else None
    if conv is None or data_format(bias) != data_format(conv):
      continue
    relu.op = '_FusedConv2D'
    del relu.input[:]
    relu.input.extend([conv.input[0], conv.input[1], bias.input[1]])
    for key, value in conv.attr.items():
      relu.attr[key].CopyFrom(value)
    relu.attr['fused_ops'].list.s.extend([b'BiasAdd', b'Relu'])
    relu.attr['num_args'].i = 1
    relu.attr['TArgs'].list.type.append(tf.float32.as_datatype_enum)
    fused.update([bias.name, conv.name])
  kept = [node for node in graph_def.node if node.name not in fused]
  del graph_def.node[:]
  graph_def.node.extend(kept)


def attach_final_layer(base_graph_def, bottleneck_node, layer_graph_def,
                       input_node, output_node):
  """One frozen graph: the base up to its bottleneck, then the new layer.

  `layer_graph_def` is the trained layer, frozen, reading the placeholder
  `input_node`; in the result that node becomes a PlaceholderWithDefault
  fed by the base's `bottleneck_node` (whatever fed it in training is left
  out), so the graph runs from JPEG bytes at DecodeJpeg/contents:0 and can
  still be fed bottlenecks directly. Only what `output_node` needs is kept:
  Inception's 1,008-way ImageNet softmax is left out.
  """
  output = subgraph(base_graph_def, [bottleneck_node])
  layer_keep = reachable_nodes(layer_graph_def, [output_node], stop={input_node})
  for layer_node in layer_graph_def.node:
    if layer_node.name not in layer_keep:
      continue
    node = output.node.add()
    node.CopyFrom(layer_node)
    if node.name == input_node:
      node.op = 'PlaceholderWithDefault'
      del node.input[:]
      node.input.append(bottleneck_node)
  return output
