"""The graph rewrite (folded batch norm, ConcatV2, batch input, fusion) and
the runner's pipeline: parity with the original graph, order, failures."""

import concurrent.futures
import glob
import os

import numpy as np
import pytest

from retraining import inception, machine
from retraining.graph import rewrite
from retraining.graph import runner as graph_runner
from retraining.graph.tensorflow_v1 import tf, tf1

from conftest import make_photo, shared_data


def original_bottlenecks(graph_def, paths):
  """The book's way: one photo's bytes per run of the unmodified graph."""
  with tf.Graph().as_default(), tf1.Session() as sess:
    tf1.import_graph_def(graph_def, name='')
    return np.concatenate([sess.run(inception.BOTTLENECK_TENSOR_NAME, {
        inception.JPEG_DATA_TENSOR_NAME: open(p, 'rb').read()}) for p in paths])


def fast_bottlenecks(graph_def, paths, feed_weights=None):
  """retrain.py's way: the runner's pipeline on the rewritten graph."""
  with graph_runner.photo_outputs(rewrite.fast_graph_def(graph_def), paths,
                                  inception.BOTTLENECK_TENSOR_NAME,
                                  feed_weights) as outputs:
    outcomes = list(outputs)
  assert [path for path, _, _ in outcomes] == list(paths)
  assert not [failure for _, _, failure in outcomes if failure]
  return np.stack([output for _, output, _ in outcomes])


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
  fast = rewrite.fast_graph_def(tiny_graph_def)
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
  body_graph_def = rewrite.body_graph_def
  monkeypatch.setattr(rewrite, 'body_graph_def', lambda graph_def, output, feed:
                      feeds.append(feed) or body_graph_def(graph_def, output, feed))
  fed = fast_bottlenecks(tiny_graph_def, photo_paths)
  monkeypatch.setattr(graph_runner, 'FEED_WEIGHTS_UP_TO', len(photo_paths) - 1)
  np.testing.assert_array_equal(fed, fast_bottlenecks(tiny_graph_def, photo_paths))
  np.testing.assert_array_equal(fed, fast_bottlenecks(tiny_graph_def, photo_paths,
                                                      feed_weights=True))
  assert feeds == [True, False, True]


def test_parity_on_real_photos(tiny_graph_def):
  folder = shared_data('flower_photos_original_sample')
  paths = sorted(glob.glob(os.path.join(folder, '*', '*.jpg')))[::10]
  assert_parity(original_bottlenecks(tiny_graph_def, paths),
                fast_bottlenecks(tiny_graph_def, paths))


def test_fast_graph_still_takes_one_jpeg_at_decode_input(tiny_graph_def, photo_paths):
  with tf.Graph().as_default(), tf1.Session() as sess:
    tf1.import_graph_def(rewrite.fast_graph_def(tiny_graph_def), name='')
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


def test_body_fuses_convolutions_and_holds_only_the_body(tiny_graph_def):
  fast = rewrite.fast_graph_def(tiny_graph_def)
  convs = sum(n.op == 'Conv2D' for n in fast.node)
  body, _ = rewrite.body_graph_def(fast, inception.BOTTLENECK_TENSOR_NAME,
                                   feed_weights=False)
  ops = [n.op for n in body.node]
  names = {n.name for n in body.node}
  assert ops.count('_FusedConv2D') == convs and 'Conv2D' not in ops
  assert 'Relu' not in ops and 'BiasAdd' not in ops
  assert 'DecodeJpeg' not in ops and 'softmax' not in names
  assert 'Conv2D' in {n.op for n in fast.node}  # The graph itself is left alone.


def test_body_holds_no_weight_and_is_fed_each_one_aligned(tiny_graph_def):
  fast = rewrite.fast_graph_def(tiny_graph_def)
  body, weights = rewrite.body_graph_def(fast, inception.BOTTLENECK_TENSOR_NAME,
                                         feed_weights=True)
  float_enum = tf.float32.as_datatype_enum
  assert not [n.name for n in body.node
              if n.op == 'Const' and n.attr['dtype'].type == float_enum]
  placeholders = {n.name + ':0' for n in body.node if n.op == 'Placeholder'}
  assert placeholders == set(weights) | {inception.BATCH_INPUT_TENSOR_NAME}
  nodes = {n.name: n for n in fast.node}
  filter_name = next(n.input[1] for n in fast.node if n.op == 'Conv2D')
  np.testing.assert_array_equal(weights[filter_name + ':0'],
                                rewrite.const_value(nodes[filter_name]))
  assert all(w.ctypes.data % 64 == 0 for w in weights.values())
  body, weights = rewrite.body_graph_def(fast, inception.BOTTLENECK_TENSOR_NAME,
                                         feed_weights=False)
  assert not weights
  assert {n.name for n in body.node if n.op == 'Placeholder'} == {
      inception.BATCH_INPUT_NODE}


def test_each_photo_runs_alone_and_comes_back_in_order(tiny_graph_def,
                                                       photo_paths, tmp_path,
                                                       monkeypatch):
  """A batch of one is the only shape the body ever sees, so a photo's
  outputs cannot depend on the photos around it (test_robustness's kill
  tests check it end to end); a photo that cannot be read is named in its
  place and the others go on."""
  session_on, run_sizes = graph_runner.session_on, []

  def counted_session_on(graph_def, *args):
    sess = session_on(graph_def, *args)
    run = sess.run
    sess.run = lambda fetches, feeds: run_sizes.append(len(feeds.get(
        inception.BATCH_INPUT_TENSOR_NAME, ()))) or run(fetches, feeds)
    return sess
  monkeypatch.setattr(graph_runner, 'session_on', counted_session_on)
  broken = tmp_path / 'broken.jpg'
  broken.write_bytes(b'not a photo')
  paths = photo_paths[:3] + [str(broken)] + photo_paths[3:] + photo_paths[::-1]
  with graph_runner.photo_outputs(rewrite.fast_graph_def(tiny_graph_def), paths,
                            inception.BOTTLENECK_TENSOR_NAME) as outputs:
    outcomes = list(outputs)
  assert [path for path, _, _ in outcomes] == paths
  assert [bool(failure) for _, _, failure in outcomes] == [
      path == str(broken) for path in paths]
  assert [size for size in run_sizes if size] == [1] * (len(paths) - 1)
  by_path = {}
  for path, output, _ in outcomes:
    if output is not None:
      assert np.array_equal(by_path.setdefault(path, output), output)


def test_map_ahead_keeps_order_and_a_bounded_number_in_flight():
  with concurrent.futures.ThreadPoolExecutor(3) as pool:
    submit, submitted = pool.submit, []
    pool.submit = lambda function, item: (
        submitted.append(item) or submit(function, item))
    futures = machine.map_ahead(pool, lambda x: x * x, range(20), ahead=4)
    assert submitted == [0, 1, 2, 3]  # Before the first is asked for.
    results = []
    for future in futures:
      results.append(future.result())
      assert len(submitted) == min(20, len(results) + 4)
  assert results == [x * x for x in range(20)]


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
