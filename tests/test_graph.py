"""The graph rewrite: folded batch norm, ConcatV2, batch input, parity."""

import glob
import os

import numpy as np
import pytest

from conftest import make_photo, shared_data
from retraining import graph as inception

tf = inception.tf
tf1 = inception.tf1


def original_bottlenecks(graph_def, paths):
  """The book's way: one photo's bytes per run of the unmodified graph."""
  with tf.Graph().as_default(), tf1.Session() as sess:
    tf1.import_graph_def(graph_def, name='')
    return np.concatenate([sess.run(inception.BOTTLENECK_TENSOR_NAME, {
        inception.JPEG_DATA_TENSOR_NAME: open(p, 'rb').read()}) for p in paths])


def fast_bottlenecks(graph_def, paths, batch_size=4):
  """retrain.py's way: batches through the rewritten graph."""
  out = []
  with inception.photo_outputs(inception.fast_graph_def(graph_def), paths,
                               inception.BOTTLENECK_TENSOR_NAME,
                               batch_size) as batches:
    for _, values, failures in batches:
      assert not failures
      out.append(values)
  return np.concatenate(out)


@pytest.fixture(scope='module')
def photo_paths(tmp_path_factory):
  folder = tmp_path_factory.mktemp('parity')
  return [make_photo(str(folder / ('%d.jpg' % i)), (40 * i, 200 - 30 * i, 90),
                     seed=i, size=(120 + 37 * i, 90 + 11 * i)) for i in range(6)]


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
  fast = inception.fast_graph_def(tiny_graph_def)
  ops = {n.op for n in fast.node}
  assert 'BatchNormWithGlobalNormalization' not in ops and 'Concat' not in ops
  assert 'ConcatV2' in ops
  assert fast.versions.producer == tf.version.GRAPH_DEF_VERSION
  assert tiny_graph_def.versions.producer == 8  # The input is left alone.


def test_batched_fast_path_matches_original_graph(tiny_graph_def, photo_paths):
  assert_parity(original_bottlenecks(tiny_graph_def, photo_paths),
                fast_bottlenecks(tiny_graph_def, photo_paths))


def test_fed_and_constant_weights_give_the_same_bottlenecks(
    tiny_graph_def, photo_paths, monkeypatch):
  feeds = []
  body_graph_def = inception.body_graph_def
  monkeypatch.setattr(inception, 'body_graph_def', lambda graph_def, output, feed:
                      feeds.append(feed) or body_graph_def(graph_def, output, feed))
  fed = fast_bottlenecks(tiny_graph_def, photo_paths)
  monkeypatch.setattr(inception, 'FEED_WEIGHTS_UP_TO', len(photo_paths) - 1)
  np.testing.assert_array_equal(fed, fast_bottlenecks(tiny_graph_def, photo_paths))
  assert feeds == [True, False]


def test_parity_on_real_photos(tiny_graph_def):
  folder = shared_data('flower_photos_original_sample')
  paths = sorted(glob.glob(os.path.join(folder, '*', '*.jpg')))[::10]
  assert_parity(original_bottlenecks(tiny_graph_def, paths),
                fast_bottlenecks(tiny_graph_def, paths, batch_size=8))


def test_fast_graph_still_takes_one_jpeg_at_decode_input(tiny_graph_def, photo_paths):
  with tf.Graph().as_default(), tf1.Session() as sess:
    inception.import_graph_def(inception.fast_graph_def(tiny_graph_def))
    got = sess.run(inception.BOTTLENECK_TENSOR_NAME, {
        inception.JPEG_DATA_TENSOR_NAME: open(photo_paths[0], 'rb').read()})
  assert_parity(original_bottlenecks(tiny_graph_def, photo_paths[:1]), got)


def test_wrong_fold_would_be_caught(tiny_graph_def, photo_paths):
  """Ignoring scale_after_normalization must break parity on the stand-in."""
  broken = tf1.GraphDef.FromString(tiny_graph_def.SerializeToString())
  for node in broken.node:
    if node.op == 'BatchNormWithGlobalNormalization':
      node.attr['scale_after_normalization'].b = True
  expected = original_bottlenecks(tiny_graph_def, photo_paths[:2])
  got = fast_bottlenecks(broken, photo_paths[:2])
  assert np.abs(expected - got).max() > 1e-2 * np.abs(expected).max()


def test_body_session_fuses_convolutions_and_holds_only_the_body(tiny_graph_def):
  fast = inception.fast_graph_def(tiny_graph_def)
  convs = sum(n.op == 'Conv2D' for n in fast.node)
  with inception.body_session(fast) as (sess, _):
    ops = [op.type for op in sess.graph.get_operations()]
    names = {op.name for op in sess.graph.get_operations()}
  assert ops.count('_FusedConv2D') == convs and 'Conv2D' not in ops
  assert 'Relu' not in ops and 'BiasAdd' not in ops
  assert 'DecodeJpeg' not in ops and 'softmax' not in names
  assert 'Conv2D' in {n.op for n in fast.node}  # The graph itself is left alone.


def test_body_holds_no_weight_and_is_fed_each_one_aligned(tiny_graph_def):
  fast = inception.fast_graph_def(tiny_graph_def)
  body, weights = inception.body_graph_def(fast, inception.BOTTLENECK_TENSOR_NAME,
                                           feed_weights=True)
  float_enum = tf.float32.as_datatype_enum
  assert not [n.name for n in body.node
              if n.op == 'Const' and n.attr['dtype'].type == float_enum]
  placeholders = {n.name + ':0' for n in body.node if n.op == 'Placeholder'}
  assert placeholders == set(weights) | {inception.BATCH_INPUT_TENSOR_NAME}
  nodes = {n.name: n for n in fast.node}
  filter_name = next(n.input[1] for n in fast.node if n.op == 'Conv2D')
  np.testing.assert_array_equal(weights[filter_name + ':0'],
                                inception.const_value(nodes[filter_name]))
  assert all(w.ctypes.data % 64 == 0 for w in weights.values())
  body, weights = inception.body_graph_def(fast, inception.BOTTLENECK_TENSOR_NAME,
                                           feed_weights=False)
  assert not weights
  assert {n.name for n in body.node if n.op == 'Placeholder'} == {
      inception.BATCH_INPUT_NODE}


def test_body_runs_each_photo_alone_and_returns_them_in_order(tiny_graph_def,
                                                             monkeypatch):
  """A batch of one is the only shape the body ever sees, so a photo's
  outputs cannot depend on which photos share its batch (see
  test_robustness's kill tests, which check it end to end)."""
  monkeypatch.setattr(inception, 'cpu_cores', lambda: 3)
  session_on, run_sizes = inception.session_on, []

  def counted_session_on(graph_def):
    sess = session_on(graph_def)
    run = sess.run
    sess.run = lambda fetches, feeds: run_sizes.append(
        len(feeds[inception.BATCH_INPUT_TENSOR_NAME])) or run(fetches, feeds)
    return sess
  monkeypatch.setattr(inception, 'session_on', counted_session_on)
  images = np.random.RandomState(0).uniform(
      0, 255, (7, 299, 299, 3)).astype(np.float32)
  with inception.body_session(inception.fast_graph_def(tiny_graph_def)) as (_, start):
    run = lambda images: start(images)()
    batch = run(images)
    reversed_batch = run(images[::-1])
    one_by_one = [run(image[np.newaxis]) for image in images]
  assert run_sizes == [1] * 21
  assert batch.shape == (7, inception.BOTTLENECK_TENSOR_SIZE)
  assert np.array_equal(batch, np.concatenate(one_by_one))
  assert np.array_equal(reversed_batch, batch[::-1])


def test_fusion_leaves_a_convolution_used_twice(tiny_graph_def):
  graph_def = inception.fast_graph_def(tiny_graph_def)
  (relu,) = [n for n in graph_def.node if n.name == 'conv']
  bias_name = relu.input[0]
  extra = graph_def.node.add(name='also_reads_the_bias', op='Identity',
                             input=[bias_name])
  extra.attr['T'].type = tf.float32.as_datatype_enum
  inception.fuse_conv_bias_relu(graph_def)
  nodes = {n.name: n for n in graph_def.node}
  assert nodes['conv'].op == 'Relu' and nodes[bias_name].op == 'BiasAdd'
  assert nodes['conv_1'].op == '_FusedConv2D'
