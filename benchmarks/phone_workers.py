"""The jobs benchmarks/phone.py times, each in a fresh process:

  python benchmarks/phone_workers.py --worker NAME ARGS...

runs WORKERS[NAME](*ARGS) and prints its figures as one JSON line.
"""

import tempfile
import time

import numpy as np

import common

LITERT_BATCH = 4  # photos per run in the batch figure
FINAL_LAYER_INPUT = 'input/BottleneckInputPlaceholder:0'


def worker_export(graph_path, labels_path):
  """Seconds of the export alone (conversion and metadata), float32 and
  float16, from the frozen graph as retrain.py holds it; and the sizes."""
  from retraining.bases import INCEPTION_V3
  from retraining.graph import export, rewrite
  graph_def = rewrite.read_graph_def(graph_path)
  with open(labels_path, 'rb') as f:
    labels = f.read()
  figures = {}
  for name, mode in (('float32', 'none'), ('float16', 'float16')):
    start = time.perf_counter()
    model = export.tflite_model(graph_def, INCEPTION_V3, 'final_result', mode)
    metadata = export.classifier_metadata(
        'flowers_graph', INCEPTION_V3, len(labels.split()), 'flowers_labels.txt',
        name)
    with tempfile.TemporaryFile() as f:
      export.write_with_metadata(f, model, metadata, {'flowers_labels.txt': labels})
      figures[name + '_s'] = time.perf_counter() - start
      figures[name + '_mb'] = f.tell() / 1e6
  return figures


def worker_litert_batches(model_path):
  """LiteRT's rate on the .tflite, photos scaled already: one photo per run,
  and LITERT_BATCH per run (the input resized to a batch)."""
  from retraining.lite import runner as litert_runner
  photos = np.random.default_rng(0).uniform(-1, 1, (LITERT_BATCH, 299, 299, 3))
  interpreter = litert_runner.load_model(model_path)
  details = interpreter.get_input_details()[0]
  figures = {}
  for name, batch in (('one', 1), ('batch', LITERT_BATCH)):
    interpreter.resize_tensor_input(details['index'], [batch, 299, 299, 3])
    interpreter.allocate_tensors()
    interpreter.set_tensor(details['index'], photos[:batch].astype(np.float32))
    interpreter.invoke()
    runs = 20 // batch
    start = time.perf_counter()
    for _ in range(runs):
      interpreter.invoke()
    figures[name] = runs * batch / (time.perf_counter() - start)
  return figures


def worker_mediapipe(model_path, table):
  """MediaPipe's ImageClassifier on the photo files of `table` (predict.py's
  --output_csv), decoding and resizing by itself: its scores [photos,
  labels], or {'missing': why} without mediapipe."""
  try:
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision
  except ImportError as e:
    return {'missing': str(e)}
  import csv
  with open(table, newline='', encoding='utf-8') as f:
    paths = [row[0] for row in list(csv.reader(f))[1:]]
  options = vision.ImageClassifierOptions(
      base_options=BaseOptions(model_asset_path=model_path), max_results=-1)
  scores = []
  with vision.ImageClassifier.create_from_options(options) as classifier:
    for path in paths:
      (head,) = classifier.classify(mp.Image.create_from_file(path)).classifications
      row = [0.0] * len(head.categories)
      for category in head.categories:
        row[category.index] = category.score
      scores.append(row)
  return {'scores': scores}


def worker_final_layer_float16(graph_path, image_dir, bottleneck_dir):
  """The new layer alone on the real bottlenecks of every photo: its
  scores with float32 weights and with the weights rounded to float16 (as
  --tflite_float16 stores them), and the test set's accuracy with each."""
  from retraining import cache, dataset
  from retraining.bases import INCEPTION_V3
  from retraining.graph import nodes, rewrite
  from retraining.graph.tensorflow_v1 import tf, tf1
  from retraining.image_lists import create_image_lists
  photos = dataset.list_photos(create_image_lists(image_dir, 10, 10), image_dir,
                               INCEPTION_V3)
  values, found, _, _ = cache.load_bottlenecks(bottleneck_dir,
                                               [p.cache_path for p in photos],
                                               INCEPTION_V3)
  assert found.all()
  graph_def = rewrite.read_graph_def(graph_path)
  layer = nodes.subgraph(
      graph_def, ['final_result'], {nodes.node_name(FINAL_LAYER_INPUT)},
      lambda node: nodes.float_placeholder(node.name, tf.TensorShape(
          [None, 2048]).as_proto()) if node.name == nodes.node_name(
              FINAL_LAYER_INPUT) else node)
  scores = {}
  for name in ('float32', 'float16'):
    if name == 'float16':
      for node in layer.node:
        if node.op == 'Const' and node.attr['dtype'].type == tf.float32.as_datatype_enum:
          rounded = nodes.const_value(node).astype(np.float16).astype(np.float32)
          node.attr['value'].tensor.CopyFrom(tf.make_tensor_proto(rounded))
    with tf.Graph().as_default() as graph:
      tf1.import_graph_def(layer, name='')
      with tf1.Session(graph=graph) as sess:
        scores[name] = sess.run('final_result:0', {FINAL_LAYER_INPUT: values})
  truth = np.array([p.label_index for p in photos])
  test = np.array([p.set_name == 'testing' for p in photos])
  figures = {'photos': len(photos), 'test_image_lists': int(test.sum())}
  figures.update(score_gaps(scores['float16'], scores['float32']))
  for name, values in scores.items():
    figures[name + '_accuracy'] = float(
        (values[test].argmax(1) == truth[test]).mean())
  return figures


def score_gaps(got, expected):
  """Top-1 agreement (a share) and the largest and mean |score gap|."""
  got, expected = np.asarray(got), np.asarray(expected)
  gaps = np.abs(got - expected)
  return {'top1': float((got.argmax(1) == expected.argmax(1)).mean()),
          'max_gap': float(gaps.max()), 'mean_gap': float(gaps.mean())}


WORKERS = {'export': worker_export,
           'litert_batches': worker_litert_batches,
           'mediapipe': worker_mediapipe,
           'final_layer_float16': worker_final_layer_float16}


if __name__ == '__main__':
  common.work_as_worker(WORKERS)
