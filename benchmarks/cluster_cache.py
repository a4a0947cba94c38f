"""Bottlenecks cached by cache_bottlenecks.py (Apache Beam, local runner)
against retrain.py's own caching, in one run (not a test).

  python benchmarks/cluster_cache.py [--runs 2]

Needs ../shared/data (the 150 original photos) and Apache Beam
(requirements-beam.txt). Builds the full-size stand-in of the Inception graph
(tests/standin.py full: the real graph's cost), then
times each way in fresh processes, alternately, each into an empty cache
(cold), the fastest run of each counting:

- retrain.py: from starting the process to its `Training on` line, printed
  once every bottleneck is cached;
- cache_bottlenecks.py, the local runner with one worker process per core:
  the whole process.

It prints each figure with its goal and the ratio measured in the same run,
checks that the two caches are byte-identical for every photo, and prints
the rate of one worker process (one core) that docs/cluster.md's estimate
for a million photos uses.
"""

import argparse
import filecmp
import glob
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time

import common
from common import ORIGINALS, ROOT, report

RATIO_GOAL = 0.9  # Beam's rate at least this times retrain.py's
STEADY_AFTER = 16  # photos: each worker's first runs set things up
MILLION = 1000000


def environment():
  return dict(os.environ, MPLBACKEND='Agg', PYTHONUNBUFFERED='1')


def process_cpu_s(pid):
  """CPU seconds a running process has used, all its threads."""
  with open('/proc/%d/stat' % pid) as f:
    fields = f.read().rsplit(')', 1)[1].split()
  return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def children_cpu_s():
  usage = resource.getrusage(resource.RUSAGE_CHILDREN)
  return usage.ru_utime + usage.ru_stime


def time_retrain(model_dir, work):
  """(seconds, CPU seconds) from starting retrain.py to its `Training on`
  line."""
  command = [sys.executable, os.path.join(ROOT, 'retrain.py'),
             '--image_dir', ORIGINALS, '--bottleneck_dir', os.path.join(work, 'cache'),
             '--model_dir', model_dir, '--output_graph', os.path.join(work, 'g.pb'),
             '--output_labels', os.path.join(work, 'labels.txt'),
             '--summaries_dir', os.path.join(work, 'logs'),
             '--how_many_training_steps', '1', '--noexport_tflite', '--nosave_charts']
  start = time.perf_counter()
  seconds = cpu_s = None
  with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                        text=True, env=environment()) as process:
    for line in process.stdout:
      if seconds is None and 'Training on' in line:
        seconds = time.perf_counter() - start
        cpu_s = process_cpu_s(process.pid)
  if process.returncode or seconds is None:
    sys.exit('retrain.py failed (exit code %d)' % process.returncode)
  return seconds, cpu_s


def time_beam(model_dir, work):
  """(seconds, CPU seconds) cache_bottlenecks.py takes, the whole process
  with its worker processes."""
  command = [sys.executable, os.path.join(ROOT, 'cache_bottlenecks.py'),
             '--image_dir', ORIGINALS, '--bottleneck_dir', os.path.join(work, 'cache'),
             '--model_dir', model_dir]
  start, start_cpu_s = time.perf_counter(), children_cpu_s()
  result = subprocess.run(command, capture_output=True, text=True, env=environment())
  seconds = time.perf_counter() - start
  if result.returncode:
    sys.exit('cache_bottlenecks.py failed:\n%s' % result.stderr[-3000:])
  return seconds, children_cpu_s() - start_cpu_s


def cache_files(work):
  cache_dir = os.path.join(work, 'cache')
  return sorted(os.path.relpath(path, cache_dir)
                for path in glob.glob(os.path.join(cache_dir, '*', '*.txt')))


def identical(work_a, work_b):
  """(photos whose two cache files are byte-identical, photos)."""
  names, others = cache_files(work_a), set(cache_files(work_b))
  same = sum(rel in others and filecmp.cmp(os.path.join(work_a, 'cache', rel),
                                           os.path.join(work_b, 'cache', rel),
                                           shallow=False) for rel in names)
  return same, len(names)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--runs', type=int, default=2, help='runs of each way')
  args = parser.parse_args()
  if not os.path.isdir(ORIGINALS):
    sys.exit('this benchmark needs %s' % ORIGINALS)
  if importlib.util.find_spec('apache_beam') is None:
    sys.exit('this benchmark needs Apache Beam: pip install -r requirements-beam.txt')
  from retraining.machine import cpu_cores
  workers = cpu_cores()
  print('%s, %d cores; %d photos' % (common.cpu_name(), workers, len(glob.glob(
      os.path.join(ORIGINALS, '*', '*')))), flush=True)
  with tempfile.TemporaryDirectory() as scratch:
    start = time.time()
    model_dir, _ = common.build_standin(scratch)
    runs = {'retrain': [], 'beam': []}
    for i in range(args.runs):
      for way, timed in (('retrain', time_retrain), ('beam', time_beam)):
        work = os.path.join(scratch, '%s_%d' % (way, i))
        seconds, cpu_s = timed(model_dir, work)
        runs[way].append((seconds, cpu_s, work))
        print('  %s run %d: %.1f s, %.1f CPU s (load average %.1f)'
              % (way, i + 1, seconds, cpu_s, os.getloadavg()[0]), flush=True)
    (retrain_s, retrain_cpu_s, retrain_work), (beam_s, beam_cpu_s, beam_work) = (
        min(runs[way]) for way in ('retrain', 'beam'))
    photos = len(cache_files(retrain_work))
    report('retrain.py caching, cold, to its "Training on" line', photos / retrain_s,
           'photo/s')
    report('cache_bottlenecks.py, local runner, cold, whole process', photos / beam_s,
           'photo/s', '>= %.1f x retrain.py' % RATIO_GOAL, retrain_s / beam_s)
    report('  CPU time per photo, retrain.py', retrain_cpu_s / photos, 's')
    report('  CPU time per photo, cache_bottlenecks.py (all processes)',
           beam_cpu_s / photos, 's', '', beam_cpu_s / retrain_cpu_s)
    same, count = identical(retrain_work, beam_work)
    report('cache files cmp-identical to retrain.py\'s', same, 'of %d' % count,
           'all')
    steady = {way: max(common.steady_rate(os.path.join(work, 'cache'), STEADY_AFTER)
                       for _, _, work in runs[way]) for way in runs}
    report('retrain.py, steady (after the first %d photos)' % STEADY_AFTER,
           steady['retrain'], 'photo/s')
    report('cache_bottlenecks.py, steady, all workers', steady['beam'], 'photo/s', '',
           steady['beam'] / steady['retrain'])
    per_worker = steady['beam'] / workers
    report('one worker process (one core), steady', per_worker, 'photo/s')
    report('  so a million photos on 100 such workers, computing',
           MILLION / (100 * per_worker) / 60, 'min')
    print('Benchmark took %.0f s' % (time.time() - start))


if __name__ == '__main__':
  main()
