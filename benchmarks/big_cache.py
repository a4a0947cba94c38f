"""retrain.py on a big bottleneck cache made elsewhere (a benchmark, not a test).

  python benchmarks/big_cache.py [--sizes 10000,100000] [--steps 4000]

Measures retrain.py, as a user runs it, on the 3,670 flowers (the real
bottlenecks) and on synthetic caches of each size in --sizes: 5 class
folders of hard links to a few real photos, each with its cache file
`<class>/<photo>.txt` in the original text format (a real bottleneck of its
class, perturbed). Every bottleneck is cached, so the tiny stand-in graph
serves as the model. For each size it prints, beside its goal:

- the first run (text files only, no binary index, the files just read
  once so that they are in the page cache): whole process, and the reading
  of the cache (from "Found ... photos" to "Training on ...") per photo,
  with its ratio to the 3,670 flowers' in this run; and its CPU time beyond
  the warm run's per photo (the text files' reading less the index's),
  which the machine's other loads change far less than wall time;
- the warm run (with the binary index that run left): whole process and
  CPU time, each with its ratio to the 3,670 flowers';
- peak RSS of the retrain.py process (benchmarks/common.py's launcher), and
  for the synthetic caches the KB it adds per photo beyond 3,670.

Each run is made --rounds times, taking turns with the other caches; the
fastest counts (the machine may be shared).

It needs ../shared/data and writes its caches (one text file of 2,048
values per photo) in a temporary folder; docs/big_cache.md gives its figures
and how long it takes.
"""

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time

import numpy as np

import common
from common import REAL_BOTTLENECKS, REAL_PHOTOS, arrival, report, run_process, stdout

# isort: split
# The package, on sys.path once common is imported.
from retraining import cache
from retraining.bases import INCEPTION_V3
from retraining.machine import cpu_cores

FLOWERS = 3670
LINKED_PHOTOS_PER_CLASS = 4  # real photos each class's names link to
PERTURBATION = 0.05  # relative noise on the real values
GOALS = {'warm_ratio': 1.5, 'kb_per_photo': 9.0}
PHASES = ('Found', 'Training on', 'Final test accuracy')


# ------------------------------------------------------------ the caches

def class_folders():
  return sorted(e.name for e in os.scandir(REAL_BOTTLENECKS) if e.is_dir())


def real_bottlenecks(folder):
  """Every real bottleneck of one class folder, [n, 2048]."""
  paths = sorted(e.path for e in os.scandir(os.path.join(REAL_BOTTLENECKS, folder)))
  return np.stack([cache.parse_bottleneck(open(p).read(), INCEPTION_V3.bottleneck_size)
                   for p in paths])


def photo_name(i):
  return 'photo_%06d.jpg' % i


def write_synthetic_files(job):
  """Writes the cache files of photos `indices` of one class: each a real
  bottleneck of the class, perturbed, in the real files' text format."""
  folder, base, indices, cache_dir = job
  for i in indices:
    rng = np.random.default_rng(i)
    values = base[i % len(base)] * rng.lognormal(0, PERTURBATION, base.shape[1])
    with open(os.path.join(cache_dir, folder, photo_name(i) + '.txt'), 'w') as f:
      f.write(','.join(['%g' % v for v in values.astype(np.float32).tolist()]))


def make_synthetic_cache(scratch, count):
  """Photos and cache files of `count` photos: photo i is in class i % 5."""
  image_dir = os.path.join(scratch, 'photos_%d' % count)
  cache_dir = os.path.join(scratch, 'cache_%d' % count)
  jobs = []
  for k, folder in enumerate(class_folders()):
    os.makedirs(os.path.join(image_dir, folder))
    os.makedirs(os.path.join(cache_dir, folder))
    real = sorted(e.path for e in os.scandir(os.path.join(REAL_PHOTOS, folder)))
    for i in range(k, count, 5):
      os.link(real[(i // 5) % LINKED_PHOTOS_PER_CLASS],
              os.path.join(image_dir, folder, photo_name(i)))
    base = real_bottlenecks(folder)
    indices = list(range(k, count, 5))
    jobs.extend((folder, base, indices[s:s + 2000], cache_dir)
                for s in range(0, len(indices), 2000))
  with multiprocessing.get_context('fork').Pool(cpu_cores()) as pool:
    pool.map(write_synthetic_files, jobs)
  return image_dir, cache_dir


def link_smaller_cache(scratch, source_count, count):
  """The first `count` photos of a bigger synthetic cache, hard linked."""
  folders = {}
  for kind in ('photos', 'cache'):
    folders[kind] = os.path.join(scratch, '%s_%d' % (kind, count))
    source = os.path.join(scratch, '%s_%d' % (kind, source_count))
    for k, folder in enumerate(class_folders()):
      os.makedirs(os.path.join(folders[kind], folder))
      for i in range(k, count, 5):
        name = photo_name(i) + ('.txt' if kind == 'cache' else '')
        os.link(os.path.join(source, folder, name),
                os.path.join(folders[kind], folder, name))
  return folders['photos'], folders['cache']


# ------------------------------------------------------------ the runs

def timed_retrain(image_dir, cache_dir, model_dir, work, steps):
  """One retrain.py process: its wall time, CPU time (user and system, which
  the machine's other loads change less), peak RSS, and the seconds from its
  start to each of PHASES (when its line arrived)."""
  cpu_before = os.times()
  run = run_process([
      sys.executable, common.RETRAIN, '--image_dir', image_dir,
      '--bottleneck_dir', cache_dir, '--model_dir', model_dir,
      '--output_graph', os.path.join(work, 'graph.pb'),
      '--output_labels', os.path.join(work, 'labels.txt'),
      '--summaries_dir', os.path.join(work, 'logs'), '--noexport_tflite',
      '--how_many_training_steps', str(steps)])
  text = stdout(run)
  if 'Creating' in text:
    sys.exit('retrain.py computed bottlenecks: the cache in %s is not whole'
             % cache_dir)
  cpu_after = os.times()  # Children's times count the launcher's child too.
  figures = {'wall_s': run.wall_s, 'rss_mb': run.rss_mb,
             'cpu_s': (cpu_after.children_user - cpu_before.children_user +
                       cpu_after.children_system - cpu_before.children_system)}
  figures.update((phase, arrival(run, phase)) for phase in PHASES)
  figures['accuracy'] = common.ACCURACY.search(text).group(0)
  return figures


def read_through(folder):
  """Reads every file of the cache once, so that each first run finds its
  files in the page cache, whatever the machine reclaimed meanwhile."""
  for entry in os.scandir(folder):
    if entry.is_dir():
      for file in os.scandir(entry.path):
        with open(file.path, 'rb') as f:
          f.read()


def measure(caches, model_dir, scratch, steps, rounds):
  """{count: (first run, warm run, warm peak RSS)}: each round runs, cache
  after cache, the first run (no index) then the warm run, so that every
  cache meets the machine's other loads alike; the faster of each run over
  the rounds counts, and the larger warm peak RSS."""
  runs = {count: ([], []) for count in caches}
  for _ in range(rounds):
    for count, (image_dir, cache_dir) in caches.items():
      work = tempfile.mkdtemp(dir=scratch)
      index = cache.index_path(cache_dir, INCEPTION_V3)
      if os.path.exists(index):
        os.remove(index)
      read_through(cache_dir)
      for kind in runs[count]:
        kind.append(timed_retrain(image_dir, cache_dir, model_dir, work, steps))
      print('%s photos: %s' % (format(count, ','), runs[count][1][-1]['accuracy']),
            flush=True)
  fastest = lambda kind: min(kind, key=lambda run: run['wall_s'])
  return {count: (fastest(first), fastest(warm), max(run['rss_mb'] for run in warm))
          for count, (first, warm) in runs.items()}


def report_size(count, first, warm, warm_rss, base):
  """The figures of one cache, beside their goals (`base`: the flowers')."""
  reading = first['Training on'] - first['Found']
  print('%s photos%s' % (format(count, ','), ' (the real flowers)' if base is None else ''))
  report('first run (text files), whole process', first['wall_s'], 's')
  report('  reading the cache (Found -> Training on)', reading, 's')
  per_photo = reading / count * 1000
  base_per_photo = per_photo if base is None else base['per_photo_ms']
  report('  per photo', per_photo, 'ms', '<= 1 x 3,670\'s',
         per_photo / base_per_photo)
  # CPU time is what the machine's other loads (and a page cache that the
  # kernel empties as it likes) change least: the first run's beyond the
  # warm run's is the text files' reading, less the index's, per photo.
  extra_cpu = (first['cpu_s'] - warm['cpu_s']) / count * 1000
  base_extra_cpu = extra_cpu if base is None else base['extra_cpu_ms']
  report('  its CPU time beyond the warm run\'s, per photo', extra_cpu, 'ms', '',
         extra_cpu / base_extra_cpu)
  report('  its peak RSS', first['rss_mb'], 'MB')
  base_wall = warm['wall_s'] if base is None else base['warm_s']
  report('warm run (binary index), whole process', warm['wall_s'], 's',
         '<= %g x 3,670\'s' % GOALS['warm_ratio'], warm['wall_s'] / base_wall)
  base_cpu = warm['cpu_s'] if base is None else base['warm_cpu_s']
  report('  its CPU time', warm['cpu_s'], 's', '', warm['cpu_s'] / base_cpu)
  report('  start -> Found (TensorFlow\'s import, the listing)', warm['Found'], 's')
  report('  reading the cache', warm['Training on'] - warm['Found'], 's')
  report('  training (Training on -> Final test accuracy)',
         warm['Final test accuracy'] - warm['Training on'], 's')
  report('  peak RSS (the largest of the rounds)', warm_rss, 'MB')
  if base is not None:
    report('    per photo beyond 3,670',
           (warm_rss - base['rss_mb']) * 1024 / (count - FLOWERS), 'KB',
           '<= %g KB' % GOALS['kb_per_photo'])
  return {'per_photo_ms': per_photo, 'extra_cpu_ms': extra_cpu, 'warm_s': warm['wall_s'],
          'warm_cpu_s': warm['cpu_s'], 'rss_mb': warm_rss}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--sizes', default='10000,100000',
                      help='synthetic cache sizes, comma-separated')
  parser.add_argument('--steps', type=int, default=4000,
                      help='training steps of every run')
  parser.add_argument('--rounds', type=int, default=2,
                      help='runs of each kind on each cache; the fastest counts')
  args = parser.parse_args()
  sizes = sorted(int(s) for s in args.sizes.split(','))
  common.require('big_cache.py', REAL_PHOTOS, REAL_BOTTLENECKS)
  print(common.machine_line(), flush=True)
  start = time.time()
  with tempfile.TemporaryDirectory() as scratch:
    model_dir, _ = common.build_standin(scratch, 'tiny')
    caches = {FLOWERS: (REAL_PHOTOS, shutil.copytree(
        REAL_BOTTLENECKS, os.path.join(scratch, 'cache_flowers')))}
    if sizes:
      caches[sizes[-1]] = make_synthetic_cache(scratch, sizes[-1])
      for count in sizes[:-1]:
        caches[count] = link_smaller_cache(scratch, sizes[-1], count)
    print('caches made in %.0f s' % (time.time() - start), flush=True)
    results = measure(caches, model_dir, scratch, args.steps, args.rounds)
    print()
    base = report_size(FLOWERS, *results[FLOWERS], None)
    for count in sizes:
      report_size(count, *results[count], base)
  print('Benchmark took %.0f s' % (time.time() - start))


if __name__ == '__main__':
  main()
