"""Speed and memory figures of retrain.py and predict.py, each beside its goal.

  python benchmarks/benchmark.py [--image_dir DIR] [--memory_files 100000]

Builds the full-size stand-in Inception graph (tests/standin.py: legacy ops,
5.7 G multiply-adds per photo) and measures, in one run, each figure beside
its goal and the ratio to its baseline measured in the same run. Every timed
job runs in a fresh process, as a user runs it; peak RSS is that process's.
It needs ../shared/data (the 150 original photos and the real bottlenecks)
and takes about six minutes on 2 cores.

It measures through the scripts (their stdout lines, exit status, files, and
the wall time and peak RSS of whole processes) and the package's public
functions, and patches nothing:
- The compute limit is the photo rate that the faster float32 matmul,
  TensorFlow's or numpy's, would give. TensorFlow's alone can be the slower:
  on an AVX2 CPU with oneDNN off it ran at 59 GFLOP/s, a "limit" of 5.2
  photos/s, below the 10 photos/s caching reached there.
- The steady caching rate (after the first 32 photos) comes from the times
  caching.cached_bottlenecks wrote the photos' cache files (their mtimes). On
  the same runs it agreed within 0.05% with the times each photo's output
  came back, which this benchmark took by wrapping graph_runner.photo_outputs
  before. The difference of two whole cold runs, (N2 - N1) / (t2 - t1) on
  150 and 75 photos, was tried and dropped: other work on a shared machine
  moved it up to threefold, where a rate within one run stayed put.
- The runs with the weights fed pass feed_weights=True to
  caching.cached_bottlenecks (and on to graph_runner.photo_outputs).
- The training phase is the time from retrain.py printing 'Training on' to
  its printing 'Final test accuracy', by this script's clock as each line
  arrives.
- predict.py's rate after loading is the one its own 'Classified N photos in
  X s after loading the graph' line gives.
"""

import argparse
import collections
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TESTS = os.path.join(ROOT, 'tests')  # standin.py and screen.py
SHARED_DATA = os.path.join(os.path.dirname(ROOT), 'shared', 'data')
ORIGINALS = os.path.join(SHARED_DATA, 'flower_photos_original_sample')
REAL_PHOTOS = os.path.join(SHARED_DATA, 'flower_photos')
REAL_BOTTLENECKS = os.path.join(SHARED_DATA, 'inception_v3_bottlenecks')
RETRAIN = os.path.join(ROOT, 'retrain.py')
PREDICT = os.path.join(ROOT, 'predict.py')
MATMUL_SIZE = 4096
STEADY_AFTER = 32  # photos: the first runs of a session set things up
BOOK_TRAINING_STEPS = 200  # The book's loop is timed on these, then scaled.
TRAINING_STARTS = 'Training on '  # retrain.py's lines around the training
TRAINING_ENDS = 'Final test accuracy = '
ACCURACY = re.compile(r'Final test accuracy = [\d.]+% \(N=\d+\)')
CLASSIFIED = re.compile(r'Classified (\d+) photos in [\d.]+ s after loading '
                        r'the graph \(([\d.]+) photos/s\)')
# How each folder of photos is cached: the worker and its arguments after
# the model, photo and cache folders. 'fed' feeds the body its weights, as
# retrain.py does for a few dozen photos or fewer (see
# graph_runner.body_session).
CACHING_WAYS = {
    'ours': ('cache_with_retrain', 'as retrain.py'),
    'fed': ('cache_with_retrain', 'fed'),
    'book': ('cache_book',),
}
# retrain.py's runs on the real bottlenecks: training steps, output graph,
# more flags. predict.py is timed on the book's model, of 1000 steps.
RETRAIN_RUNS = {
    'plain': (4000, 'plain_graph.pb', ['--noexport_tflite']),
    '1000': (1000, 'flowers_graph.pb', []),
    'exported': (4000, 'exported_graph.pb', []),
}
LABELS = 'flowers_labels.txt'


# ------------------------------------------------------------ worker jobs
# Each runs in its own process (`benchmark.py --worker NAME ...`) and prints
# one JSON line of figures.

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
  """retrain.py's caching (caching.cached_bottlenecks) of every photo into an
  empty cache, from reading the graph on (cold). With weights='fed', the
  body is fed its weights on every run whatever the photo count, as it is
  for up to FEED_WEIGHTS_UP_TO photos."""
  from retraining import bottlenecks as listing
  from retraining import inception, machine
  from retraining.graph import caching, rewrite
  from retraining.photos import create_image_lists
  photos = listing.list_photos(create_image_lists(image_dir, 10, 10), image_dir)
  machine.keep_freed_memory()  # As retrain.py does when it starts.
  start = time.perf_counter()
  graph_def = rewrite.fast_graph_def(rewrite.read_graph_def(
      os.path.join(model_dir, inception.GRAPH_FILE_NAME)))
  bottlenecks = caching.cached_bottlenecks(
      graph_def, photos, cache_dir, feed_weights=True if weights == 'fed' else None)
  assert bottlenecks.ok.all()
  return {'photos': len(photos), 'cold_s': time.perf_counter() - start}


def worker_cache_book(model_dir, image_dir, cache_dir):
  """The book's way: one photo's bytes per sess.run of the original graph,
  each bottleneck written as text and read back, as its
  get_or_create_bottleneck does; from reading the graph on (cold), then
  again in the same session (steady)."""
  from retraining import inception
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
        values = np.squeeze(sess.run(inception.BOTTLENECK_TENSOR_NAME, {
            inception.JPEG_DATA_TENSOR_NAME: open(path, 'rb').read()}))
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
  from retraining import bottlenecks as listing
  from retraining import cache
  from retraining.photos import create_image_lists
  photos = listing.list_photos(create_image_lists(image_dir, 10, 10), image_dir)
  rel_paths = [p.cache_path for p in photos]
  index = os.path.join(bottleneck_dir, cache.INDEX_FILE_NAME)
  if os.path.exists(index):
    os.remove(index)
  figures = {'photos': len(photos)}
  for run in ('cold', 'warm'):
    start = time.perf_counter()
    values, found, _, _ = cache.load_bottlenecks(bottleneck_dir, rel_paths)
    figures[run + '_s'] = time.perf_counter() - start
    assert found.all()
    cache.save_index(bottleneck_dir, rel_paths, values)
  return figures


def worker_memory(count, scratch):
  """RSS growth per photo when `count` cached photos are listed and loaded."""
  from retraining import bottlenecks as listing
  from retraining import cache
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
  photos = listing.list_photos(image_lists, '/photos')
  values, found, _, _ = cache.load_bottlenecks(scratch, [p.cache_path for p in photos])
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


WORKERS = {'matmul_tensorflow': worker_matmul_tensorflow,
           'matmul_numpy': worker_matmul_numpy,
           'cache_with_retrain': worker_cache_with_retrain,
           'cache_book': worker_cache_book, 'train_book': worker_train_book,
           'load_cache': worker_load_cache, 'memory': worker_memory,
           'litert_kernels': worker_litert_kernels}

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


# ------------------------------------------------------------ processes

# Starts the command and records its wall time and peak RSS. A child's peak
# RSS counts the memory of the process it was forked from (Linux copies the
# parent's high-water mark), and this benchmark holds the full graph: the
# command is started from this small process instead, which adds its own
# ~15 MB at most.
MEASURED_RUN = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], 'w') as f:
  f.write('%r %d %d' % (time.perf_counter() - start, usage.ru_maxrss,
                        os.waitstatus_to_exitcode(status)))
"""

# A finished command: its stdout as [(seconds from its start until the line
# arrived, line)], its wall time in seconds, its peak RSS in MB.
Run = collections.namedtuple('Run', 'lines wall_s rss_mb')


def run_process(args, cwd=None):
  """Runs a command to its end and returns its Run; exits with the end of
  its stderr if it fails."""
  with tempfile.TemporaryFile('w+') as err, \
      tempfile.NamedTemporaryFile('r') as figures:
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, '-c', MEASURED_RUN, figures.name] + args, cwd=cwd,
        stdout=subprocess.PIPE, stderr=err, encoding='utf-8', errors='replace',
        env=dict(os.environ, MPLBACKEND='Agg'))
    with process.stdout:
      lines = [(time.perf_counter() - start, line) for line in process.stdout]
    process.wait()
    wall, max_rss_kb, returncode = figures.read().split()
    if int(returncode) != 0:
      err.seek(0)
      sys.exit('%s failed:\n%s' % (' '.join(args[:3]), err.read()[-3000:]))
    return Run(lines, float(wall), int(max_rss_kb) / 1024)


def stdout(run):
  return ''.join(line for _, line in run.lines)


def arrival(run, text):
  """Seconds from the start of the run until the first line holding `text`."""
  return next(seconds for seconds, line in run.lines if text in line)


def best_of_two(args):
  """(wall, peak RSS) of the faster of two runs: the first warms the disk cache."""
  return min((run.wall_s, run.rss_mb) for run in (run_process(args),
                                                  run_process(args)))


def run_worker(name, *args):
  run = run_process([sys.executable, __file__, '--worker', name] +
                    [str(a) for a in args])
  return json.loads(stdout(run).strip().splitlines()[-1])


def work_as_worker(name, args):
  print(json.dumps(WORKERS[name](*args)))


# ------------------------------------------------------------ models and outputs

def build_models(folder):
  """The full stand-in (legacy ops) as retrain.py's model folder; returns
  the folder and the stand-in's multiply-adds per photo."""
  import standin
  calibration = sorted(glob.glob(os.path.join(ORIGINALS, '*', '*.jpg')))[::15]
  graph_def = standin.full_graph_def(calibration)
  model_dir = os.path.join(folder, 'inception')
  os.makedirs(model_dir)
  with open(os.path.join(model_dir, standin.GRAPH_FILE_NAME), 'wb') as f:
    f.write(graph_def.SerializeToString())
  return model_dir, standin.multiply_adds(graph_def)


def book_output_graph(model_dir, our_graph, path):
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


def parity(fast_dir, book_dir):
  """Largest gap between the two caches' bottlenecks, relative to each
  vector's largest value."""
  worst = 0
  for path in glob.glob(os.path.join(book_dir, '*', '*.txt')):
    original = np.loadtxt(path, delimiter=',')
    fast = np.loadtxt(os.path.join(fast_dir, os.path.relpath(path, book_dir)),
                      delimiter=',')
    worst = max(worst, np.abs(fast - original).max() / np.abs(original).max())
  return worst


def csv_scores(path):
  """The score columns of predict.py's --output_csv table [photos, labels]."""
  with open(path, newline='', encoding='utf-8') as f:
    rows = list(csv.reader(f))
  return np.array([row[3:-1] for row in rows[1:]], float)


# ------------------------------------------------------------ measurements

def report(name, value, unit, goal='', ratio=None):
  ratio_text = '' if ratio is None else '%.2fx' % ratio
  print('%-62s %10.4g %-8s %7s  %s' % (name, value, unit, ratio_text, goal),
        flush=True)


def compute_limit(scratch):
  """Builds the stand-in; returns its model folder and the photo rate the
  faster float32 matmul, TensorFlow's or numpy's, would allow."""
  model_dir, multiply_adds = build_models(scratch)
  print('Full stand-in: %.3f G multiply-adds per photo' % (multiply_adds / 1e9))
  rates = {'TensorFlow': run_worker('matmul_tensorflow')['gflops'],
           'numpy': run_worker('matmul_numpy')['gflops']}
  faster = max(rates, key=rates.get)
  limit = rates[faster] * 1e9 / (2 * multiply_adds)
  report('matmul rate (float32, %d^2), TensorFlow' % MATMUL_SIZE,
         rates['TensorFlow'], 'GFLOP/s')
  report('  the same with numpy', rates['numpy'], 'GFLOP/s', '',
         rates['numpy'] / rates['TensorFlow'])
  report('compute limit, from %s\'s matmul' % faster, limit, 'photo/s')
  return model_dir, limit


def caching_runs(model_dir, folder, scratch):
  """Each of CACHING_WAYS twice, alternately, into empty caches: {way:
  [(figures, cache folder), (figures, cache folder)]}."""
  runs = {way: [] for way in CACHING_WAYS}
  for _ in range(2):
    for way, (worker, *options) in CACHING_WAYS.items():
      cache_dir = tempfile.mkdtemp(dir=scratch)
      runs[way].append((run_worker(worker, model_dir, folder, cache_dir, *options),
                        cache_dir))
  return runs


def steady_rate(cache_dir):
  """Photos per second once the first STEADY_AFTER photos are cached, from
  the times their cache files were written; NaN for too few photos."""
  written = sorted(os.stat(path).st_mtime_ns / 1e9 for path in
                   glob.glob(os.path.join(cache_dir, '*', '*.txt')))
  if len(written) <= STEADY_AFTER + 1:
    return float('nan')
  return (len(written) - 1 - STEADY_AFTER) / (written[-1] - written[STEADY_AFTER])


def caching(name, folder, model_dir, limit, scratch):
  """retrain.py's caching against the book's, cold and steady, and with the
  weights fed. Each figure is the better of two runs."""
  from retraining.graph.runner import FEED_WEIGHTS_UP_TO
  runs = caching_runs(model_dir, folder, scratch)
  faster = {way: min(pair, key=lambda run: run[0]['cold_s'])
            for way, pair in runs.items()}
  (ours, our_dir), (fed, _), (book, book_dir) = (
      faster['ours'], faster['fed'], faster['book'])
  steady, fed_steady = (max(steady_rate(cache_dir) for _, cache_dir in runs[way])
                        for way in ('ours', 'fed'))
  n = ours['photos']
  report('parity: max |fast - original graph| / max |original|',
         parity(our_dir, os.path.join(book_dir, 'cold')), '', '<= 1e-3')
  report('caching %s, steady (after the first %d photos)'
         % (name, STEADY_AFTER), steady, 'photo/s', '>= 0.85 x limit',
         steady / limit)
  report('  the same with the weights fed, as for <= %d photos'
         % FEED_WEIGHTS_UP_TO, fed_steady, 'photo/s', '', fed_steady / limit)
  report('  book\'s one-photo runs, steady', n / book['steady_s'], 'photo/s')
  report('caching %s, whole cold run' % name, n / ours['cold_s'], 'photo/s',
         '>= 1.6 x book', book['cold_s'] / ours['cold_s'])
  report('  book\'s one-photo runs, whole cold run', n / book['cold_s'], 'photo/s')
  report('  the same with the weights fed', n / fed['cold_s'], 'photo/s', '',
         book['cold_s'] / fed['cold_s'])


def copy_real_bottlenecks(scratch):
  """A folder holding a copy of the real bottlenecks, as bottlenecks/."""
  work = os.path.join(scratch, 'real')
  shutil.copytree(REAL_BOTTLENECKS, os.path.join(work, 'bottlenecks'))
  return work


def loading_the_cache(work):
  load = run_worker('load_cache', REAL_PHOTOS, os.path.join(work, 'bottlenecks'))
  report('load %d cached bottlenecks, text only (cold)' % load['photos'],
         load['cold_s'], 's', '<= 1.5 s')
  report('load %d cached bottlenecks, with index (warm)' % load['photos'],
         load['warm_s'], 's', '<= 0.2 s')


def timed_retrain(model_dir, work, steps, graph, more_flags):
  """retrain.py on the real photos and their cached bottlenecks."""
  run = run_process([sys.executable, RETRAIN, '--image_dir', REAL_PHOTOS,
                     '--bottleneck_dir', 'bottlenecks', '--model_dir', model_dir,
                     '--output_graph', graph, '--output_labels', LABELS,
                     '--summaries_dir', 'logs',
                     '--how_many_training_steps', str(steps)] + more_flags, cwd=work)
  assert 'Creating' not in stdout(run), 'the real bottlenecks were not used'
  return {'training_s': arrival(run, TRAINING_ENDS) - arrival(run, TRAINING_STARTS),
          'wall_s': run.wall_s, 'rss_mb': run.rss_mb,
          'accuracy': ACCURACY.search(stdout(run)).group(0)}


def retraining(model_dir, work):
  """The training phase against the book's loop, and whole runs with and
  without the .tflite. Returns the book's model: its graph and labels."""
  book_step = run_worker('train_book', os.path.join(work, 'bottlenecks'))['per_step_s']
  runs = {name: timed_retrain(model_dir, work, *run)
          for name, run in RETRAIN_RUNS.items()}
  for name in ('1000', 'plain'):
    run, steps = runs[name], RETRAIN_RUNS[name][0]
    report('training phase, %d steps (%s)' % (steps, run['accuracy']),
           run['training_s'], 's', '<= 5 s' if steps == 4000 else '',
           book_step * steps / run['training_s'])
    report('  book\'s loop, %d steps (timed on %d)' % (steps, BOOK_TRAINING_STEPS),
           book_step * steps, 's')
  plain, exported = runs['plain'], runs['exported']
  report('whole retrain, 3,670 cached, 4000 steps, no .tflite', plain['wall_s'],
         's', '<= 20 s')
  report('  its peak RSS', plain['rss_mb'], 'MB', '<= 1500 MB')
  report('  the same writing the .tflite too', exported['wall_s'], 's',
         '<= 1.3 x', exported['wall_s'] / plain['wall_s'])
  report('  its peak RSS', exported['rss_mb'], 'MB')
  return os.path.join(work, RETRAIN_RUNS['1000'][1]), os.path.join(work, LABELS)


def predict_command(graph, labels):
  return [sys.executable, PREDICT, '--output_graph', graph,
          '--output_labels', labels]


def predicting_one_photo(model_dir, graph, labels):
  """predict.py on one photo, whole process, each runtime against the book's
  predict.py; and until its window is drawn."""
  book_graph = os.path.join(os.path.dirname(graph), 'book_graph.pb')
  book_output_graph(model_dir, graph, book_graph)
  photo = sorted(glob.glob(os.path.join(ORIGINALS, 'roses', '*.jpg')))[0]
  book_wall, book_rss = best_of_two([sys.executable, '-c', BOOK_PREDICT,
                                     book_graph, labels, photo])
  one = {runtime: best_of_two(predict_command(graph, labels) + [
      '--noshow_image', '--runtime', runtime, photo])
         for runtime in ('litert', 'tensorflow')}
  report('predict.py, one photo, whole process, LiteRT', one['litert'][0], 's',
         '<= 0.15 x book', one['litert'][0] / book_wall)
  report('  its peak RSS', one['litert'][1], 'MB', '<= 400 MB')
  report('  the same with TensorFlow', one['tensorflow'][0], 's', '<= 0.8 x book',
         one['tensorflow'][0] / book_wall)
  report('  its peak RSS', one['tensorflow'][1], 'MB')
  report('  book\'s predict.py on its legacy-op graph', book_wall, 's')
  report('  its peak RSS', book_rss, 'MB')
  window = time_until_window_drawn(predict_command(graph, labels) + [photo])
  if window:
    report('  the same with the window (Xvfb), until it is drawn', window, 's')


def time_until_window_drawn(command):
  """Seconds from starting `command` (predict.py showing its window) until
  its bar chart is on a virtual screen; None without Xvfb and ImageMagick."""
  import screen
  if not screen.available():
    return None
  with screen.virtual_screen() as display, \
      tempfile.TemporaryDirectory() as scratch:
    env = dict(os.environ, DISPLAY=display, MPLBACKEND='TkAgg')
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
      while time.perf_counter() - start < 120:
        pixels = screen.screenshot(display, os.path.join(scratch, 'screen.png'))
        if screen.blue_pixels(pixels) > 500:
          return time.perf_counter() - start
      return None
    finally:
      process.kill()
      process.wait()


def predict_folder(graph, labels, runtime):
  """predict.py on the 150 originals in one call: the photo count and rate
  it prints, its wall time and peak RSS, and the scores of its CSV table."""
  table = os.path.join(os.path.dirname(graph), 'scores_%s.csv' % runtime)
  run = run_process(predict_command(graph, labels) + [
      '--noshow_image', '--runtime', runtime, ORIGINALS, '--output_csv', table])
  count, rate = CLASSIFIED.search(stdout(run)).groups()
  return {'photos': int(count), 'rate': float(rate), 'wall_s': run.wall_s,
          'rss_mb': run.rss_mb, 'scores': csv_scores(table)}


def predicting_many_photos(graph, labels, limit):
  """predict.py on 150 photos, LiteRT against TensorFlow; what LiteRT would
  need to meet its goal, and what it reaches with the pixels ready."""
  from retraining import files, inception
  litert, tensorflow = (predict_folder(graph, labels, runtime)
                        for runtime in ('litert', 'tensorflow'))
  report('predict.py, %d photos in one call, LiteRT, after loading'
         % litert['photos'], litert['rate'], 'photo/s', '>= TensorFlow',
         litert['rate'] / tensorflow['rate'])
  report('  whole process', litert['wall_s'], 's', '<= 0.5 x TensorFlow',
         litert['wall_s'] / tensorflow['wall_s'])
  # The rate after loading that would meet the 0.5 x goal, with LiteRT's
  # loading as measured, against the compute limit.
  n = litert['photos']
  litert_loading = litert['wall_s'] - n / litert['rate']
  needed = n / (0.5 * tensorflow['wall_s'] - litert_loading)
  report('    the rate after loading that 0.5 x needs', needed, 'photo/s',
         'x limit', needed / limit)
  kernels = run_worker('litert_kernels', files.beside(graph, inception.TFLITE_SUFFIX))
  report('    LiteRT alone, pixels ready, on one thread', kernels['one_thread'],
         'photo/s')
  report('    the same, one thread per core', kernels['all_cores'], 'photo/s',
         'x limit', kernels['all_cores'] / limit)
  report('  peak RSS', litert['rss_mb'], 'MB')
  report('  the same with TensorFlow, after loading', tensorflow['rate'],
         'photo/s', '>= 20')
  report('  whole process', tensorflow['wall_s'], 's')
  report('  peak RSS', tensorflow['rss_mb'], 'MB')
  report('  max |LiteRT score - frozen graph score|, %d photos' % n,
         np.abs(litert['scores'] - tensorflow['scores']).max(), '', '<= 1e-5')


def memory_per_cached_photo(count, scratch):
  memory = run_worker('memory', count, tempfile.mkdtemp(dir=scratch))
  report('memory per cached photo (%d synthetic)' % count,
         memory['per_photo_bytes'] / 1024, 'KB', '<= 10 KB')


# ------------------------------------------------------------ the run

def parse_flags():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--image_dir', help='also cache this photo folder')
  parser.add_argument('--memory_files', type=int, default=100000,
                      help='synthetic cache files for the memory figure')
  return parser.parse_args()


def require_shared_data():
  for folder in (ORIGINALS, REAL_PHOTOS, REAL_BOTTLENECKS):
    if not os.path.isdir(folder):
      sys.exit('benchmark.py: error: it needs %s' % folder)


def main():
  args = parse_flags()
  require_shared_data()
  start = time.time()
  with tempfile.TemporaryDirectory() as scratch:
    model_dir, limit = compute_limit(scratch)
    caching('150 originals', ORIGINALS, model_dir, limit, scratch)
    if args.image_dir:
      caching(args.image_dir, args.image_dir, model_dir, limit, scratch)
    work = copy_real_bottlenecks(scratch)
    loading_the_cache(work)
    graph, labels = retraining(model_dir, work)
    predicting_one_photo(model_dir, graph, labels)
    predicting_many_photos(graph, labels, limit)
    if args.memory_files:
      memory_per_cached_photo(args.memory_files, scratch)
  print('Benchmark took %.0f s' % (time.time() - start))


if __name__ == '__main__':
  sys.path[:0] = [ROOT, TESTS]
  if sys.argv[1:2] == ['--worker']:
    work_as_worker(sys.argv[2], sys.argv[3:])
  else:
    main()
