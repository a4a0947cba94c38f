"""The jobs benchmarks/benchmark.py times, each in a fresh process:

  python benchmarks/speed_workers.py --worker NAME ARGS...

runs WORKERS[NAME](*ARGS) and prints its figures as one JSON line. Each
imports what it needs, so that the process holds only that.
"""

import collections
import glob
import os
import tempfile
import time

import numpy as np

import common

MATMUL_SIZE = 4096
BOOK_TRAINING_STEPS = 200  # The book's loop is timed on these, then scaled.

# The book's predict.py, as a command: python -c BOOK_PREDICT GRAPH LABELS PHOTO
BOOK_PREDICT = '''
import sys
import numpy as np
import tensorflow as tf
import matplotlib
labels = [line.rstrip() for line in tf.io.gfile.GFile(sys.argv[2])]
with tf.io.gfile.GFile(sys.argv[1], 'rb') as f:
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(f.read())
    tf.compat.v1.import_graph_def(graph_def, name='')
with tf.compat.v1.Session() as sess:
    logits = sess.graph.get_tensor_by_name('final_result:0')
    image = tf.io.gfile.GFile(sys.argv[3], 'rb').read()
    prediction = sess.run(logits, {'DecodeJpeg/contents:0': image})
for node_id in prediction[0].argsort()[::-1]:
    print('%s (%.2f%%)' % (labels[node_id], prediction[0][node_id] * 100))
'''


def worker_matmul_tensorflow():
  """TensorFlow's best float32 matmul rate here, in GFLOP/s."""
  from retraining.graph.tensorflow_v1 import tf, tf1
  a, b = random_matrices()
  with tf.Graph().as_default(), tf1.Session() as sess:
    product = tf.reduce_sum(tf.matmul(tf1.Variable(a), tf1.Variable(b)))
    sess.run(tf1.global_variables_initializer())
    return {'gflops': best_matmul_rate(lambda: sess.run(product))}


def worker_matmul_numpy():
  """numpy's (its BLAS library's) best float32 matmul rate here, in GFLOP/s."""
  a, b = random_matrices()
  product = np.empty_like(a)
  return {'gflops': best_matmul_rate(lambda: np.matmul(a, b, out=product))}


def random_matrices():
  rng = np.random.default_rng(0)
  return [rng.random((MATMUL_SIZE, MATMUL_SIZE), np.float32) for _ in range(2)]


def best_matmul_rate(multiply):
  """GFLOP/s of the fastest of three rounds of five multiply() calls, after
  one call to warm up."""
  multiply()
  best = 0
  for _ in range(3):
    start = time.perf_counter()
    for _ in range(5):
      multiply()
    best = max(best, 5 * 2 * MATMUL_SIZE ** 3 / (time.perf_counter() - start) / 1e9)
  return best


def worker_cache_with_retrain(model_dir, image_dir, cache_dir, weights):
  """retrain.py's caching (bottlenecks.cached_bottlenecks) of every photo into an
  empty cache, from reading the graph on (cold). With weights='fed', the
  body is fed its weights on every run whatever the photo count, as it is
  for up to FEED_WEIGHTS_UP_TO photos."""
  from retraining import dataset, inception, machine
  from retraining.bases import INCEPTION_V3
  from retraining.graph import bottlenecks, rewrite
  from retraining.image_lists import create_image_lists
  photos = dataset.list_photos(create_image_lists(image_dir, 10, 10), image_dir,
                               INCEPTION_V3)
  machine.keep_freed_memory()  # As retrain.py does when it starts.
  start = time.perf_counter()
  graph_def = rewrite.fast_graph_def(rewrite.read_graph_def(
      os.path.join(model_dir, inception.GRAPH_FILE_NAME)))
  cached = bottlenecks.cached_bottlenecks(
      graph_def, INCEPTION_V3, photos, cache_dir,
      feed_weights=True if weights == 'fed' else None)
  assert cached.ok.all()
  return {'photos': len(photos), 'cold_s': time.perf_counter() - start}


def worker_cache_book(model_dir, image_dir, cache_dir):
  """The book's way: one photo's bytes per sess.run of the original graph,
  each bottleneck written as text and read back, as its
  get_or_create_bottleneck does; from reading the graph on (cold), then
  again in the same session (steady)."""
  from retraining import inception
  from retraining.bases import INCEPTION_V3, JPEG_DATA_TENSOR_NAME
  from retraining.graph import rewrite
  from retraining.graph.tensorflow_v1 import tf, tf1
  paths = sorted(glob.glob(os.path.join(image_dir, '*', '*')))
  figures = {'photos': len(paths)}
  start = time.perf_counter()
  with tf.Graph().as_default(), tf1.Session() as sess:
    tf1.import_graph_def(rewrite.read_graph_def(
        os.path.join(model_dir, inception.GRAPH_FILE_NAME)), name='')
    for run in ('cold', 'steady'):
      for path in paths:
        values = np.squeeze(sess.run(INCEPTION_V3.bottleneck_tensor, {
            JPEG_DATA_TENSOR_NAME: open(path, 'rb').read()}))
        cache_path = os.path.join(cache_dir, run, *path.split(os.sep)[-2:]) + '.txt'
        os.makedirs(os.path.dirname(cache_path), exist_ok=True)
        with open(cache_path, 'w') as f:
          f.write(','.join(str(x) for x in values))
        with open(cache_path) as f:
          values = [float(x) for x in f.read().split(',')]
      figures[run + '_s'] = time.perf_counter() - start
      start = time.perf_counter()
  return figures


def worker_train_book(bottleneck_dir):
  """The book's training loop: each step re-reads and parses 100 cached text
  files, then runs the step and its summaries."""
  from retraining.graph.tensorflow_v1 import tf, tf1
  classes = sorted(e.name for e in os.scandir(bottleneck_dir) if e.is_dir())
  files = [sorted(glob.glob(os.path.join(bottleneck_dir, c, '*.txt'))) for c in classes]
  rng = np.random.default_rng(0)
  with tf.Graph().as_default(), tf1.Session() as sess:
    x = tf1.placeholder(tf.float32, [None, 2048])
    y = tf1.placeholder(tf.float32, [None, len(classes)])
    weights = tf1.Variable(tf1.truncated_normal([2048, len(classes)], stddev=0.001))
    logits = tf.matmul(x, weights) + tf1.Variable(tf.zeros([len(classes)]))
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
    tf1.summary.scalar('cross_entropy', loss)
    tf1.summary.histogram('weights', weights)
    step = tf1.train.GradientDescentOptimizer(0.01).minimize(loss)
    merged = tf1.summary.merge_all()
    writer = tf1.summary.FileWriter(tempfile.mkdtemp())
    sess.run(tf1.global_variables_initializer())
    start = time.perf_counter()
    for i in range(BOOK_TRAINING_STEPS):
      batch, truths = [], []
      for _ in range(100):
        label = rng.integers(len(classes))
        path = files[label][rng.integers(len(files[label]))]
        with open(path) as f:
          batch.append([float(v) for v in f.read().split(',')])
        truths.append(np.eye(len(classes))[label])
      summary, _ = sess.run([merged, step], {x: batch, y: truths})
      writer.add_summary(summary, i)
  return {'per_step_s': (time.perf_counter() - start) / BOOK_TRAINING_STEPS}


def worker_load_cache(image_dir, bottleneck_dir):
  """Loading every cached bottleneck: from the text files alone (cold), then
  with the binary index a first run leaves (warm)."""
  from retraining import cache, dataset
  from retraining.bases import INCEPTION_V3
  from retraining.image_lists import create_image_lists
  photos = dataset.list_photos(create_image_lists(image_dir, 10, 10), image_dir,
                               INCEPTION_V3)
  rel_paths = [p.cache_path for p in photos]
  index = cache.index_path(bottleneck_dir, INCEPTION_V3)
  if os.path.exists(index):
    os.remove(index)
  figures = {'photos': len(photos)}
  for run in ('cold', 'warm'):
    start = time.perf_counter()
    values, found, _, _ = cache.load_bottlenecks(bottleneck_dir, rel_paths,
                                                 INCEPTION_V3)
    figures[run + '_s'] = time.perf_counter() - start
    assert found.all()
    cache.save_index(bottleneck_dir, rel_paths, values, INCEPTION_V3)
  return figures


def worker_memory(count, scratch):
  """RSS growth per photo when `count` cached photos are listed and loaded."""
  from retraining import cache, dataset
  from retraining.bases import INCEPTION_V3
  count = int(count)
  line = ','.join(['0.25'] * 2048)
  image_lists = collections.OrderedDict()
  for c in range(5):
    folder = 'class_%d' % c
    os.makedirs(os.path.join(scratch, folder))
    names = ['photo_%06d.jpg' % i for i in range(c, count, 5)]
    for name in names:
      with open(os.path.join(scratch, folder, name + '.txt'), 'w') as f:
        f.write(line)
    image_lists[folder] = {'dir': folder, 'training': names, 'testing': [],
                           'validation': []}
  before = rss_bytes()
  photos = dataset.list_photos(image_lists, '/photos', INCEPTION_V3)
  values, found, _, _ = cache.load_bottlenecks(scratch, [p.cache_path for p in photos],
                                               INCEPTION_V3)
  assert found.all() and len(values) == count
  return {'per_photo_bytes': (rss_bytes() - before) / count}


def worker_litert_kernels(model_path):
  """LiteRT's own rate on the exported .tflite, pixels already decoded (one
  photo of 299 x 299, run again and again): what predict.py's LiteRT path
  can reach at most, on one thread and on one thread per core."""
  from retraining import machine
  from retraining.lite import runner as litert_runner
  pixels = np.random.default_rng(0).uniform(0, 255, (299, 299, 3))
  figures = {}
  for name, threads in (('one_thread', 1), ('all_cores', machine.cpu_cores())):
    interpreter = litert_runner.load_model(model_path, num_threads=threads)
    litert_runner.classify(interpreter, pixels)
    start = time.perf_counter()
    for _ in range(20):
      litert_runner.classify(interpreter, pixels)
    figures[name] = 20 / (time.perf_counter() - start)
  return figures


def rss_bytes():
  with open('/proc/self/statm') as f:
    return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def worker_book_graph(model_dir, our_graph, path):
  """What the book's retrain.py writes: the original graph (legacy ops,
  producer 8, one photo per run) plus the new layer, here with our weights."""
  from retraining import inception
  from retraining.graph import rewrite
  from retraining.graph.tensorflow_v1 import tf
  original = rewrite.read_graph_def(os.path.join(model_dir, inception.GRAPH_FILE_NAME))
  ours = {n.name: n for n in rewrite.read_graph_def(our_graph).node}
  layer = [n for name, n in ours.items()
           if name.startswith(('final_training_ops', 'input/Bottleneck')) or
           name == 'final_result']
  graph_def = tf.compat.v1.GraphDef()
  graph_def.CopyFrom(original)
  graph_def.node.extend(layer)
  with open(path, 'wb') as f:
    f.write(graph_def.SerializeToString())
  return {'nodes': len(graph_def.node)}


def worker_parity(fast_dir, book_dir):
  """Largest gap between the two caches' bottlenecks, relative to each
  vector's largest value."""
  worst = 0
  for path in glob.glob(os.path.join(book_dir, '*', '*.txt')):
    original = np.loadtxt(path, delimiter=',')
    fast = np.loadtxt(os.path.join(fast_dir, os.path.relpath(path, book_dir)),
                      delimiter=',')
    worst = max(worst, np.abs(fast - original).max() / np.abs(original).max())
  return {'max_gap': worst}


WORKERS = {'matmul_tensorflow': worker_matmul_tensorflow,
           'matmul_numpy': worker_matmul_numpy,
           'cache_with_retrain': worker_cache_with_retrain,
           'cache_book': worker_cache_book, 'train_book': worker_train_book,
           'load_cache': worker_load_cache, 'memory': worker_memory,
           'litert_kernels': worker_litert_kernels, 'book_graph': worker_book_graph,
           'parity': worker_parity}


if __name__ == '__main__':
  common.work_as_worker(WORKERS)
