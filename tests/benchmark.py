"""Speed and memory figures of retrain.py and predict.py (not a test).

  python tests/benchmark.py [--image_dir DIR] [--memory_files 100000]

Builds the full-size stand-in Inception graph (legacy ops, 5.7 G multiply-adds
a photo) and measures, in one run, each figure beside its goal and the ratio
to its baseline measured in the same run. Every timed job runs in a fresh
process, as a user runs it; peak RSS is that process's. It needs
../shared/data (the 150 original photos and the real bottlenecks) and takes
about three and a half minutes on 2 cores.
"""

import argparse
import contextlib
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
SHARED_DATA = os.path.join(os.path.dirname(ROOT), 'shared', 'data')
ORIGINALS = os.path.join(SHARED_DATA, 'flower_photos_original_sample')
REAL_PHOTOS = os.path.join(SHARED_DATA, 'flower_photos')
REAL_BOTTLENECKS = os.path.join(SHARED_DATA, 'inception_v3_bottlenecks')
BOOK_TRAINING_STEPS = 200  # The book's loop is timed on these, then scaled.
STEADY_AFTER = 32  # photos: the first runs of a session set things up
TIMESTAMP = r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+): '


# ------------------------------------------------------------ worker jobs
# Each runs in its own process (`benchmark.py --worker NAME ...`) and prints
# one JSON line of figures.

def worker_matmul():
  """Best float32 matmul rate TensorFlow reaches here, in GFLOP/s."""
  from retraining.tensorflow_v1 import tf, tf1
  n = 4096
  with tf.Graph().as_default(), tf1.Session() as sess:
    a = tf1.Variable(np.random.rand(n, n).astype(np.float32))
    b = tf1.Variable(np.random.rand(n, n).astype(np.float32))
    product = tf.reduce_sum(tf.matmul(a, b))
    sess.run(tf1.global_variables_initializer())
    sess.run(product)
    best = 0
    for _ in range(3):
      start = time.perf_counter()
      for _ in range(5):
        sess.run(product)
      best = max(best, 5 * 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
  return {'gflops': best}


def worker_cache_fast(model_dir, image_dir, scratch, weights='as retrain.py'):
  """retrain.py's own caching of every photo, from reading the graph on
  (cold); and its rate once the first STEADY_AFTER photos are done (steady).
  With weights='fed', the body is fed its weights on every run whatever the
  photo count, as it is for up to FEED_WEIGHTS_UP_TO photos."""
  import retrain
  from retraining import graph_runner, inception, rewrite, tuning
  from retraining.photos import create_image_lists
  if weights == 'fed':
    graph_runner.FEED_WEIGHTS_UP_TO = float('inf')
  photos = retrain.list_photos(create_image_lists(image_dir, 10, 10), image_dir)
  photo_done = []  # time each photo's output came back
  photo_outputs = graph_runner.photo_outputs

  @contextlib.contextmanager
  def timed_photo_outputs(*args, **kwargs):
    with photo_outputs(*args, **kwargs) as outputs:
      def timed():
        for outcome in outputs:
          photo_done.append(time.perf_counter())
          yield outcome
      yield timed()
  graph_runner.photo_outputs = timed_photo_outputs
  tuning.keep_freed_memory()  # As retrain.py does when it starts.
  start = time.perf_counter()
  graph_def = rewrite.fast_graph_def(rewrite.read_graph_def(
      os.path.join(model_dir, inception.GRAPH_FILE_NAME)))
  bottlenecks = retrain.cache_bottlenecks(graph_def, photos,
                                          os.path.join(scratch, 'cold'))
  assert bottlenecks.ok.all()
  cold_s = time.perf_counter() - start
  steady_rate = float('nan')  # Undefined for too few photos.
  if len(photo_done) > STEADY_AFTER + 1:
    steady_rate = ((len(photo_done) - 1 - STEADY_AFTER) /
                   (photo_done[-1] - photo_done[STEADY_AFTER]))
  return {'photos': len(photos), 'cold_s': cold_s, 'steady_rate': steady_rate}


def worker_cache_book(model_dir, image_dir, scratch):
  """The book's way: one photo's bytes per sess.run of the original graph,
  each bottleneck written as text and read back, as its
  get_or_create_bottleneck does; from reading the graph on (cold), then
  again in the same session (steady)."""
  from retraining import inception, rewrite
  from retraining.tensorflow_v1 import tf, tf1
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
        cache_path = os.path.join(scratch, run, *path.split(os.sep)[-2:]) + '.txt'
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
  from retraining.tensorflow_v1 import tf, tf1
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
  import retrain
  from retraining import cache
  from retraining.photos import create_image_lists
  photos = retrain.list_photos(create_image_lists(image_dir, 10, 10), image_dir)
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
  import collections

  import retrain
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
  photos = retrain.list_photos(image_lists, '/photos')
  values, found, _, _ = cache.load_bottlenecks(scratch, [p.cache_path for p in photos])
  assert found.all() and len(values) == count
  return {'per_photo_bytes': (rss_bytes() - before) / count}


def worker_litert_kernels(model_path):
  """LiteRT's own rate on the exported .tflite, pixels already decoded (one
  photo of 299 x 299, run again and again): what predict.py's LiteRT path
  can reach at most, on one thread and on one thread per core."""
  from retraining import litert_runner, tuning
  pixels = np.random.default_rng(0).uniform(0, 255, (299, 299, 3))
  figures = {}
  for name, threads in (('one_thread', 1), ('all_cores', tuning.cpu_cores())):
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


WORKERS = {'matmul': worker_matmul, 'cache_fast': worker_cache_fast,
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


# ------------------------------------------------------------ the runner

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


def run_process(args, cwd=None):
  """Runs a command; returns (stdout, wall seconds, peak RSS in MB)."""
  with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err, \
      tempfile.NamedTemporaryFile('r') as figures:
    subprocess.run([sys.executable, '-c', MEASURED_RUN, figures.name] + args,
                   cwd=cwd, stdout=out, stderr=err,
                   env=dict(os.environ, MPLBACKEND='Agg'), check=False)
    wall, max_rss_kb, returncode = figures.read().split()
    out.seek(0)
    err.seek(0)
    if int(returncode) != 0:
      sys.exit('%s failed:\n%s' % (' '.join(args[:3]), err.read()[-3000:]))
    return out.read(), float(wall), int(max_rss_kb) / 1024


def best_of_two(args):
  """(wall, peak RSS) of the faster of two runs: the first warms the disk cache."""
  return min(run_process(args)[1:] for _ in range(2))


def run_worker(name, *args):
  stdout, _, _ = run_process([sys.executable, __file__, '--worker', name] +
                             [str(a) for a in args])
  return json.loads(stdout.strip().splitlines()[-1])


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


def build_models(folder):
  """The full stand-in (legacy ops) as retrain.py's model folder."""
  sys.path.insert(0, HERE)
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
  from retraining import inception, rewrite
  from retraining.tensorflow_v1 import tf
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


def csv_scores(path):
  """The score columns of predict.py's --output_csv table [photos, labels]."""
  import csv
  with open(path, newline='', encoding='utf-8') as f:
    rows = list(csv.reader(f))
  return np.array([row[3:-1] for row in rows[1:]], float)


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


def timed_retrain(args, cwd):
  stdout, wall, rss = run_process([sys.executable, os.path.join(ROOT, 'retrain.py')]
                                  + args, cwd=cwd)
  stamps = {}
  for line in stdout.splitlines():
    match = re.match(TIMESTAMP + r'(Training on|Final test accuracy)', line)
    if match:
      stamps[match.group(2)] = time.mktime(time.strptime(
          match.group(1).split('.')[0], '%Y-%m-%d %H:%M:%S')) + float(
              '0.' + match.group(1).split('.')[1])
  accuracy = re.search(r'Final test accuracy = ([\d.]+)% \(N=(\d+)\)', stdout)
  return {'training_s': stamps['Final test accuracy'] - stamps['Training on'],
          'wall_s': wall, 'rss_mb': rss, 'accuracy': accuracy.group(0),
          'computed': 'Creating' in stdout}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--image_dir', help='also cache this photo folder')
  parser.add_argument('--memory_files', type=int, default=100000,
                      help='synthetic cache files for the memory figure')
  parser.add_argument('--worker', help=argparse.SUPPRESS)
  args, rest = parser.parse_known_args()
  sys.path.insert(0, ROOT)
  if args.worker:
    print(json.dumps(WORKERS[args.worker](*rest)))
    return
  for folder in (ORIGINALS, REAL_PHOTOS, REAL_BOTTLENECKS):
    if not os.path.isdir(folder):
      sys.exit('benchmark needs %s' % folder)
  with tempfile.TemporaryDirectory() as scratch:
    run_benchmark(scratch, args)


def run_benchmark(scratch, args):
  def report(name, value, unit, goal='', ratio=None):
    ratio_text = '' if ratio is None else '%.2fx' % ratio
    print('%-62s %10.4g %-8s %7s  %s' % (name, value, unit, ratio_text, goal),
          flush=True)

  from retraining import files, graph_runner, inception
  start = time.time()
  model_dir, multiply_adds = build_models(scratch)
  print('Full stand-in: %.3f G multiply-adds a photo' % (multiply_adds / 1e9))
  gflops = run_worker('matmul')['gflops']
  limit = gflops * 1e9 / (2 * multiply_adds)
  report('matmul rate (float32, 4096^2)', gflops, 'GFLOP/s')
  report('compute limit', limit, 'photo/s')

  photo_dirs = [('150 originals', ORIGINALS)]
  if args.image_dir:
    photo_dirs.append((args.image_dir, args.image_dir))
  for name, folder in photo_dirs:
    # Each way twice, alternately, into empty caches; the faster run counts.
    # 'fed' feeds the body its weights, as for a few dozen photos or fewer
    # (see graph_runner.body_session).
    ways = {'fast': ('cache_fast',), 'book': ('cache_book',),
            'fed': ('cache_fast', 'fed')}
    runs = {way: [] for way in ways}
    for _ in range(2):
      for way, (worker, *options) in ways.items():
        cache_dir = tempfile.mkdtemp(dir=scratch)
        runs[way].append((run_worker(worker, model_dir, folder, cache_dir, *options),
                          cache_dir))
    (fast, fast_dir), (book, book_dir) = (
        min(runs[way], key=lambda run: run[0]['cold_s']) for way in ('fast', 'book'))
    steady = max(run['steady_rate'] for run, _ in runs['fast'])
    fed = min(runs['fed'], key=lambda run: run[0]['cold_s'])[0]
    n = fast['photos']
    report('parity: max |fast - original graph| / max |original|',
           parity(os.path.join(fast_dir, 'cold'), os.path.join(book_dir, 'cold')),
           '', '<= 1e-3')
    report('caching %s, steady (after the first %d photos)'
           % (name, STEADY_AFTER), steady, 'photo/s', '>= 0.85 x limit',
           steady / limit)
    report('  the same with the weights fed, as for <= %d photos'
           % graph_runner.FEED_WEIGHTS_UP_TO, fed['steady_rate'], 'photo/s', '',
           fed['steady_rate'] / limit)
    report('  book\'s one-photo runs, steady', n / book['steady_s'], 'photo/s')
    report('caching %s, whole cold run' % name, n / fast['cold_s'], 'photo/s',
           '>= 1.6 x book', book['cold_s'] / fast['cold_s'])
    report('  book\'s one-photo runs, whole cold run', n / book['cold_s'], 'photo/s')
    report('  the same with the weights fed', n / fed['cold_s'], 'photo/s', '',
           book['cold_s'] / fed['cold_s'])

  work = os.path.join(scratch, 'real')
  shutil.copytree(REAL_BOTTLENECKS, os.path.join(work, 'bottlenecks'))
  load = run_worker('load_cache', REAL_PHOTOS, os.path.join(work, 'bottlenecks'))
  report('load %d cached bottlenecks, text only (cold)' % load['photos'],
         load['cold_s'], 's', '<= 1.5 s')
  report('load %d cached bottlenecks, with index (warm)' % load['photos'],
         load['warm_s'], 's', '<= 0.2 s')

  book_step = run_worker('train_book', os.path.join(work, 'bottlenecks'))['per_step_s']
  retrain_args = ['--image_dir', REAL_PHOTOS, '--bottleneck_dir', 'bottlenecks',
                  '--model_dir', model_dir, '--output_graph', 'flowers_graph.pb',
                  '--output_labels', 'flowers_labels.txt', '--summaries_dir', 'logs']
  # flowers_graph.pb and its .tflite come from the 1000-step run, so that
  # the .tflite is newer than the graph for predict.py below.
  runs = {}
  for name, steps, extra in (
      ('plain', 4000, ['--noexport_tflite']), ('1000', 1000, []),
      ('exported', 4000, ['--output_graph', 'exported_graph.pb'])):
    runs[name] = timed_retrain(retrain_args + extra + [
        '--how_many_training_steps', str(steps)], cwd=work)
    assert not runs[name]['computed'], 'the real bottlenecks were not used'
  for steps, run in ((1000, runs['1000']), (4000, runs['plain'])):
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

  graph = os.path.join(work, 'flowers_graph.pb')
  labels = os.path.join(work, 'flowers_labels.txt')
  book_graph = os.path.join(work, 'book_graph.pb')
  book_output_graph(model_dir, graph, book_graph)
  photo = sorted(glob.glob(os.path.join(ORIGINALS, 'roses', '*.jpg')))[0]
  predict = [sys.executable, os.path.join(ROOT, 'predict.py'), '--output_graph',
             graph, '--output_labels', labels, '--noshow_image']
  book_wall, book_rss = best_of_two([sys.executable, '-c', BOOK_PREDICT,
                                     book_graph, labels, photo])
  one = {runtime: best_of_two(predict + ['--runtime', runtime, photo])
         for runtime in ('litert', 'tensorflow')}
  report('predict.py, one photo, whole process, LiteRT', one['litert'][0], 's',
         '<= 0.15 x book', one['litert'][0] / book_wall)
  report('  its peak RSS', one['litert'][1], 'MB', '<= 400 MB')
  report('  the same with TensorFlow', one['tensorflow'][0], 's', '<= 0.8 x book',
         one['tensorflow'][0] / book_wall)
  report('  its peak RSS', one['tensorflow'][1], 'MB')
  report('  book\'s predict.py on its legacy-op graph', book_wall, 's')
  report('  its peak RSS', book_rss, 'MB')
  window = time_until_window_drawn(predict[:-1] + [photo])
  if window:
    report('  the same with the window (Xvfb), until it is drawn', window, 's')

  many, scores = {}, {}
  for runtime in ('litert', 'tensorflow'):
    table = os.path.join(work, 'scores_%s.csv' % runtime)
    stdout, wall, rss = run_process(predict + ['--runtime', runtime, ORIGINALS,
                                               '--output_csv', table])
    many[runtime] = (float(re.search(r'\(([\d.]+) photos/s\)', stdout).group(1)),
                     wall, rss)
    scores[runtime] = csv_scores(table)
  report('predict.py, 150 photos in one call, LiteRT, after loading',
         many['litert'][0], 'photo/s', '>= TensorFlow',
         many['litert'][0] / many['tensorflow'][0])
  report('  whole process', many['litert'][1], 's', '<= 0.5 x TensorFlow',
         many['litert'][1] / many['tensorflow'][1])
  # The rate after loading that would meet the 0.5 x goal, with LiteRT's
  # loading as measured, against the compute limit.
  n = len(scores['litert'])
  litert_loading = many['litert'][1] - n / many['litert'][0]
  needed = n / (0.5 * many['tensorflow'][1] - litert_loading)
  report('    the rate after loading that 0.5 x needs', needed, 'photo/s',
         'x limit', needed / limit)
  kernels = run_worker('litert_kernels', files.beside(graph, inception.TFLITE_SUFFIX))
  report('    LiteRT alone, pixels ready, on one thread', kernels['one_thread'],
         'photo/s')
  report('    the same, one thread per core', kernels['all_cores'], 'photo/s',
         'x limit', kernels['all_cores'] / limit)
  report('  peak RSS', many['litert'][2], 'MB')
  report('  the same with TensorFlow, after loading', many['tensorflow'][0],
         'photo/s', '>= 20')
  report('  whole process', many['tensorflow'][1], 's')
  report('  peak RSS', many['tensorflow'][2], 'MB')
  report('  max |LiteRT score - frozen graph score|, 150 photos',
         np.abs(scores['litert'] - scores['tensorflow']).max(), '', '<= 1e-5')

  if args.memory_files:
    memory = run_worker('memory', args.memory_files, tempfile.mkdtemp(dir=scratch))
    report('memory per cached photo (%d synthetic)' % args.memory_files,
           memory['per_photo_bytes'] / 1024, 'KB', '<= 10 KB')
  print('Benchmark took %.0f s' % (time.time() - start))


if __name__ == '__main__':
  main()
