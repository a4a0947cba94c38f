"""A Keras base's body run by LiteRT (XNNPACK) instead of TensorFlow, for
the bottlenecks: the same inputs and outputs as runner.open_body.

A phone-class body is hundreds of small ops. TensorFlow's session spends
most of a photo's time handing them out, and two photos at once take no
less time than one after the other, so the body would not use more than
one core; LiteRT runs the same body about twice as fast on one thread,
and an interpreter per thread uses every core. Inception's body, a few
big ops, stays on TensorFlow, as it always was (the book's bytes).

The same bytes, wherever the cache is filled: the body is converted from
the base's graph, which gives the same model every time, and each photo
runs alone on one thread of its own interpreter, so its bottleneck depends
on the photo alone; TF_ENABLE_ONEDNN_OPTS does not reach LiteRT at all.
The decoding head stays TensorFlow's, so photos decode as the graph
decodes them.

Converting takes about half a second, as long as computing 150 photos, so
a Keras base's graph file carries its body converted (keras_bases.py adds
it when it freezes the graph): a string constant named CONVERTED_BODY
plus the output's node, which no path a photo takes reaches. It was made
from that very graph, so it belongs with it by content, and Beam's
workers get it with the graph. A graph without it is converted here.
"""

import queue

from retraining.bases import BATCH_INPUT_NODE
from retraining.graph import export, nodes
from retraining.graph.tensorflow_v1 import tf, tf1
from retraining.machine import cpu_cores

# The name of the constant carrying the converted body, before its
# output's node name.
CONVERTED_BODY = 'lite_body/'


def litert_installed():
  """Whether LiteRT can be imported here (it is not on every platform)."""
  try:
    from ai_edge_litert.interpreter import Interpreter  # noqa: F401
  except ImportError:
    return False
  return True


def open_body(graph_def, output_name, feed_weights=False, threads=None):
  """(None: nothing to close, run(image [size, size, 3]) -> the image's
  `output_name`), from the batch input on, as runner.open_body. run may be
  called from `threads` threads at once (default: the cores): each call
  takes one of as many interpreters. `feed_weights` does not apply."""
  from retraining.lite import runner as litert_runner
  model = body_model(graph_def, output_name)
  interpreters = queue.SimpleQueue()
  for _ in range(threads or cpu_cores()):
    interpreters.put(litert_runner.load_model(model, num_threads=1))

  def run(image):
    interpreter = interpreters.get()
    try:
      interpreter.set_tensor(interpreter.get_input_details()[0]['index'], image[None])
      interpreter.invoke()
      return interpreter.get_tensor(interpreter.get_output_details()[0]['index'])[0]
    finally:
      interpreters.put(interpreter)
  return None, run


def body_model(graph_def, output_name):
  """The .tflite (bytes, float32) of the graph from its batch input, one
  photo [1, size, size, 3], to `output_name`: the one the graph carries
  (see carried_body), else converted now."""
  return carried_body(graph_def, output_name) or converted_body(graph_def,
                                                                output_name)


def carried_body(graph_def, output_name):
  """The converted body to `output_name` that the graph carries, or None."""
  name = CONVERTED_BODY + nodes.node_name(output_name)
  for node in graph_def.node:
    if node.name == name:
      return node.attr['value'].tensor.string_val[0]
  return None


def with_converted_body(graph_def, output_name):
  """`graph_def` with its body to `output_name`, converted, carried in it."""
  model = converted_body(graph_def, output_name)
  node = graph_def.node.add(name=CONVERTED_BODY + nodes.node_name(output_name),
                            op='Const')
  node.attr['dtype'].type = tf.string.as_datatype_enum
  node.attr['value'].tensor.CopyFrom(tf.make_tensor_proto(model))
  return graph_def


def converted_body(graph_def, output_name):
  """The .tflite (bytes, float32) of the graph from its batch input, one
  photo [1, size, size, 3], to `output_name`, converted now."""
  batch_input = next(node for node in graph_def.node if node.name == BATCH_INPUT_NODE)
  shape = [1] + [dim.size for dim in batch_input.attr['shape'].shape.dim[1:]]
  converter = tf1.lite.TFLiteConverter(
      graph_def, None, None, input_arrays_with_shape=[(BATCH_INPUT_NODE, shape)],
      output_arrays=[nodes.node_name(output_name)])
  return export.converted(converter)
