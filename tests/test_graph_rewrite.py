"""retraining/graph/rewrite.py: folded batch norm, ConcatV2, batch input,
fusion: the fast graph against the original one."""

import glob
import os

import numpy as np

from retraining import bases
from retraining.graph import rewrite
from retraining.graph.tensorflow_v1 import tf, tf1

from conftest import fast_bottlenecks, shared_data


def original_bottlenecks(graph_def, paths):
  """The book's way: one photo's bytes per run of the unmodified graph."""
  with tf.Graph().as_default(), tf1.Session() as sess:
    tf1.import_graph_def(graph_def, name='')
    return np.concatenate([sess.run(bases.INCEPTION_V3.bottleneck_tensor, {
        bases.JPEG_DATA_TENSOR_NAME: open(p, 'rb').read()}) for p in paths])


def assert_parity(expected, got):
  assert expected.shape == got.shape
  assert np.abs(expected - got).max() <= 1e-3 * np.abs(expected).max()


def test_stand_in_batch_norms_are_non_trivial(tiny_graph_def):
  """Otherwise a wrong fold would pass the parity test."""
  nodes = {n.name: n for n in tiny_graph_def.node}
  norms = [n for n in tiny_graph_def.node
           if n.op == 'BatchNormWithGlobalNormalization']
  assert norms and tiny_graph_def.versions.producer == 8
  assert {n.attr['scale_after_normalization'].b for n in norms} == {True, False}
  for norm in norms:
    mean, var, _, gamma = (tf.make_ndarray(nodes[i].attr['value'].tensor)
                           for i in norm.input[1:])
    assert np.abs(mean).min() > 0 and np.abs(var - 1).min() > 0
    assert np.abs(gamma - 1).min() > 0
  assert any(n.op == 'Concat' for n in tiny_graph_def.node)


def test_fast_graph_has_only_modern_ops(tiny_graph_def):
  fast = rewrite.fast_graph_def(tiny_graph_def)
  ops = {n.op for n in fast.node}
  assert 'BatchNormWithGlobalNormalization' not in ops and 'Concat' not in ops
  assert 'ConcatV2' in ops
  assert fast.versions.producer == tf.version.GRAPH_DEF_VERSION
  assert tiny_graph_def.versions.producer == 8  # The input is left alone.


def test_batched_fast_path_matches_original_graph(tiny_graph_def, parity_photos):
  assert_parity(original_bottlenecks(tiny_graph_def, parity_photos),
                fast_bottlenecks(tiny_graph_def, parity_photos))


def test_parity_on_real_photos(tiny_graph_def):
  folder = shared_data('flower_photos_original_sample')
  paths = sorted(glob.glob(os.path.join(folder, '*', '*.jpg')))[::10]
  assert_parity(original_bottlenecks(tiny_graph_def, paths),
                fast_bottlenecks(tiny_graph_def, paths))


def test_fast_graph_still_takes_one_jpeg_at_decode_input(tiny_graph_def, parity_photos):
  with tf.Graph().as_default(), tf1.Session() as sess:
    tf1.import_graph_def(rewrite.fast_graph_def(tiny_graph_def), name='')
    got = sess.run(bases.INCEPTION_V3.bottleneck_tensor, {
        bases.JPEG_DATA_TENSOR_NAME: open(parity_photos[0], 'rb').read()})
  assert_parity(original_bottlenecks(tiny_graph_def, parity_photos[:1]), got)


def test_wrong_fold_would_be_caught(tiny_graph_def, parity_photos):
  """Ignoring scale_after_normalization must break parity on the stand-in."""
  broken = tf1.GraphDef.FromString(tiny_graph_def.SerializeToString())
  for node in broken.node:
    if node.op == 'BatchNormWithGlobalNormalization':
      node.attr['scale_after_normalization'].b = True
  expected = original_bottlenecks(tiny_graph_def, parity_photos[:2])
  got = fast_bottlenecks(broken, parity_photos[:2])
  assert np.abs(expected - got).max() > 1e-2 * np.abs(expected).max()


def test_body_fuses_convolutions_and_holds_only_the_body(tiny_graph_def):
  fast = rewrite.fast_graph_def(tiny_graph_def)
  convs = sum(n.op == 'Conv2D' for n in fast.node)
  body, _ = rewrite.body_graph_def(fast, bases.INCEPTION_V3.bottleneck_tensor,
                                   feed_weights=False)
  ops = [n.op for n in body.node]
  names = {n.name for n in body.node}
  assert ops.count('_FusedConv2D') == convs and 'Conv2D' not in ops
  assert 'Relu' not in ops and 'BiasAdd' not in ops
  assert 'DecodeJpeg' not in ops and 'softmax' not in names
  assert 'Conv2D' in {n.op for n in fast.node}  # The graph itself is left alone.


def test_fusion_leaves_a_convolution_used_twice(tiny_graph_def):
  graph_def = rewrite.fast_graph_def(tiny_graph_def)
  (relu,) = [n for n in graph_def.node if n.name == 'conv']
  bias_name = relu.input[0]
  extra = graph_def.node.add(name='also_reads_the_bias', op='Identity',
                             input=[bias_name])
  extra.attr['T'].type = tf.float32.as_datatype_enum
  rewrite.fuse_conv_bias_relu(graph_def)
  nodes = {n.name: n for n in graph_def.node}
  assert nodes['conv'].op == 'Relu' and nodes[bias_name].op == 'BiasAdd'
  assert nodes['conv_1'].op == '_FusedConv2D'
