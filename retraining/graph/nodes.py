"""GraphDef nodes by hand: the parts of a graph an output needs, node
names, Const values read in place, new Const and Placeholder nodes."""

import numpy as np

from retraining.graph.tensorflow_v1 import tf, tf1


def subgraph(graph_def, outputs, stop=(), replace=lambda node: node):
  """A new GraphDef with the nodes `outputs` need (see reachable_nodes),
  each copied as it is or as `replace` returns it."""
  keep = reachable_nodes(graph_def, outputs, stop)
  sub = tf1.GraphDef()
  sub.versions.CopyFrom(graph_def.versions)
  sub.node.extend(replace(n) for n in graph_def.node if n.name in keep)
  return sub


def reachable_nodes(graph_def, outputs, stop=()):
  """Names of the nodes `outputs` depend on, themselves included, not
  looking past the nodes named in `stop`."""
  inputs = {node.name: node.input for node in graph_def.node}
  seen, todo = set(), list(outputs)
  while todo:
    name = todo.pop()
    if name not in seen:
      seen.add(name)
      if name not in stop:
        todo.extend(node_name(i) for i in inputs[name])
  return seen


def node_name(input_name):
  """'^a', 'a:1', 'a' -> 'a'."""
  return input_name.lstrip('^').split(':')[0]


def consumers_of(graph_def):
  consumers = {}
  for node in graph_def.node:
    for name in node.input:
      consumers.setdefault(node_name(name), []).append(node)
  return consumers


def const_value(node):
  """A Const node's value: read-only when it is a view of the tensor's raw
  bytes, as weights are stored, which spares a copy of every weight."""
  tensor = node.attr['value'].tensor
  if tensor.tensor_content:
    return np.frombuffer(tensor.tensor_content, tf.as_dtype(tensor.dtype).as_numpy_dtype
                         ).reshape(tf.TensorShape(tensor.tensor_shape).as_list())
  return tf.make_ndarray(tensor)


def make_const(name, value):
  node = tf1.NodeDef(name=name, op='Const')
  node.attr['dtype'].type = tf.as_dtype(value.dtype).as_datatype_enum
  node.attr['value'].tensor.CopyFrom(tf.make_tensor_proto(value))
  return node


def float_placeholder(name, shape):
  node = tf1.NodeDef(name=name, op='Placeholder')
  node.attr['dtype'].type = tf.float32.as_datatype_enum
  node.attr['shape'].shape.CopyFrom(shape)
  return node


def copy_graph_def(graph_def):
  graph_def_copy = tf1.GraphDef()
  graph_def_copy.CopyFrom(graph_def)
  return graph_def_copy
