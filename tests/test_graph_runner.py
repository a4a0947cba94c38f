"""retraining/graph/runner.py: photos through the rewritten graph, in order,
the weights fed or constant, Pillow's photos where DecodeJpeg's go."""


import numpy as np

from retraining import bases
from retraining.graph import nodes, rewrite
from retraining.graph import runner as graph_runner
from retraining.graph.tensorflow_v1 import onednn_enabled, tf

import standin
from conftest import (
  fast_bottlenecks,
  make_good_photo_kinds,
)


def test_fed_and_constant_weights_give_the_same_bottlenecks(
    tiny_graph_def, parity_photos, monkeypatch):
  """By default a few photos are fed the weights, but under oneDNN's
  kernels, whose digits differ between the two ways in a fresh process
  (see runner.photo_outputs)."""
  feeds = []
  body_graph_def = rewrite.body_graph_def
  monkeypatch.setattr(rewrite, 'body_graph_def', lambda graph_def, output, feed:
                      feeds.append(feed) or body_graph_def(graph_def, output, feed))
  fed = fast_bottlenecks(tiny_graph_def, parity_photos)
  monkeypatch.setattr(graph_runner, 'FEED_WEIGHTS_UP_TO', len(parity_photos) - 1)
  np.testing.assert_array_equal(fed, fast_bottlenecks(tiny_graph_def, parity_photos))
  np.testing.assert_array_equal(fed, fast_bottlenecks(tiny_graph_def, parity_photos,
                                                      feed_weights=True))
  assert feeds == [not onednn_enabled(), False, True]


def test_body_holds_no_weight_and_is_fed_each_one_aligned(tiny_graph_def):
  fast = rewrite.fast_graph_def(tiny_graph_def)
  body, weights = rewrite.body_graph_def(fast, bases.INCEPTION_V3.bottleneck_tensor,
                                         feed_weights=True)
  float_enum = tf.float32.as_datatype_enum
  assert not [n.name for n in body.node
              if n.op == 'Const' and n.attr['dtype'].type == float_enum]
  placeholders = {n.name + ':0' for n in body.node if n.op == 'Placeholder'}
  assert placeholders == set(weights) | {bases.BATCH_INPUT_TENSOR_NAME}
  by_name = {n.name: n for n in fast.node}
  filter_name = next(n.input[1] for n in fast.node if n.op == 'Conv2D')
  np.testing.assert_array_equal(weights[filter_name + ':0'],
                                nodes.const_value(by_name[filter_name]))
  assert all(w.ctypes.data % 64 == 0 for w in weights.values())
  body, weights = rewrite.body_graph_def(fast, bases.INCEPTION_V3.bottleneck_tensor,
                                         feed_weights=False)
  assert not weights
  assert {n.name for n in body.node if n.op == 'Placeholder'} == {
      bases.BATCH_INPUT_NODE}


def test_each_photo_runs_alone_and_comes_back_in_order(tiny_graph_def,
                                                       parity_photos, tmp_path,
                                                       monkeypatch):
  """A batch of one is the only shape the body ever sees, so a photo's
  outputs cannot depend on the photos around it (test_retrain.py's kill
  tests check it end to end); a photo that cannot be read is named in its
  place and the others go on."""
  session_on, run_sizes = graph_runner.session_on, []

  def counted_session_on(graph_def, *args):
    sess = session_on(graph_def, *args)
    run = sess.run
    sess.run = lambda fetches, feeds: run_sizes.append(len(feeds.get(
        bases.BATCH_INPUT_TENSOR_NAME, ()))) or run(fetches, feeds)
    return sess
  monkeypatch.setattr(graph_runner, 'session_on', counted_session_on)
  broken = tmp_path / 'broken.jpg'
  broken.write_bytes(b'not a photo')
  paths = parity_photos[:3] + [str(broken)] + parity_photos[3:] + parity_photos[::-1]
  with graph_runner.photo_outputs(rewrite.fast_graph_def(tiny_graph_def), paths,
                            bases.INCEPTION_V3.bottleneck_tensor) as outputs:
    outcomes = list(outputs)
  assert [path for path, _, _ in outcomes] == paths
  assert [bool(failure) for _, _, failure in outcomes] == [
      path == str(broken) for path in paths]
  assert [size for size in run_sizes if size] == [1] * (len(paths) - 1)
  by_path = {}
  for path, output, _ in outcomes:
    if output is not None:
      assert np.array_equal(by_path.setdefault(path, output), output)


def test_png_gives_the_same_bottleneck_as_the_jpeg_pixels_it_holds(tmp_path, model_dir):
  """Pillow-decoded photos enter the graph where DecodeJpeg's pixels do."""
  from PIL import Image

  from retraining import bases
  from retraining.graph import rewrite
  from retraining.graph import runner as graph_runner
  jpeg = make_good_photo_kinds(str(tmp_path))['jpeg']
  png = str(tmp_path / 'same_pixels.png')
  graph_def = rewrite.fast_graph_def(rewrite.read_graph_def(
      str(model_dir / standin.GRAPH_FILE_NAME)))
  with graph_runner.session_on(graph_def) as sess:
    pixels = sess.run(bases.DECODED_IMAGE_TENSOR_NAME,
                      {bases.JPEG_DATA_TENSOR_NAME: open(jpeg, 'rb').read()})
    Image.fromarray(pixels).save(png)
    assert np.array_equal(graph_runner.resize_photo(sess, jpeg),
                          graph_runner.resize_photo(sess, png))
