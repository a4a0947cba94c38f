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
  the whole process;
- cache_bottlenecks.py on the portable path: Beam's Python job service and
  a worker pool in an environment without the project, whose worker
  installs what the job staged (tests/portable_services.py, started once,
  before the timing): the whole process.

Each Beam job's start-up, from starting the process to its first cache
file, is printed apart.

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
import signal
import subprocess
import sys
import tempfile
import time

import common
from common import ORIGINALS, ROOT, report

SERVICES = os.path.join(ROOT, 'tests', 'portable_services.py')

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


def time_beam(model_dir, work, runner_args=()):
  """(seconds, CPU seconds, start-up seconds) of cache_bottlenecks.py, the
  whole process: CPU seconds of it and its worker processes (local runner
  only: a worker pool's workers are not its children); start-up, to its
  first cache file."""
  cache_dir = os.path.join(work, 'cache')
  command = [sys.executable, os.path.join(ROOT, 'cache_bottlenecks.py'),
             '--image_dir', ORIGINALS, '--bottleneck_dir', cache_dir,
             '--model_dir', model_dir] + list(runner_args)
  start, start_cpu_s = time.perf_counter(), children_cpu_s()
  startup_s = None
  with tempfile.TemporaryFile('w+') as err, subprocess.Popen(
      command, stdout=subprocess.DEVNULL, stderr=err, env=environment()) as process:
    while process.poll() is None:
      if startup_s is None and glob.glob(os.path.join(cache_dir, '*', '*.txt')):
        startup_s = time.perf_counter() - start
      time.sleep(0.05)
    seconds = time.perf_counter() - start
    if process.returncode:
      err.seek(0)
      sys.exit('cache_bottlenecks.py failed:\n%s' % err.read()[-3000:])
  return seconds, children_cpu_s() - start_cpu_s, startup_s


def start_portable_services(folder):
  """(the services' process, the flags that send a job to them)."""
  services = subprocess.Popen([sys.executable, SERVICES, folder], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)
  ports = services.stdout.readline().split()
  if not ports:
    sys.exit('the portable services did not start: see the logs in %s' % folder)
  return services, ['--runner=PortableRunner', '--job_endpoint=localhost:%s' % ports[0],
                    '--environment_type=EXTERNAL',
                    '--environment_config=localhost:%s' % ports[1]]


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


WAYS = (('retrain', 'retrain.py'), ('beam', 'local runner'), ('portable', 'portable path'))


def timed_runs(model_dir, scratch, count, portable_args):
  """{way: [(seconds, CPU seconds, start-up seconds, work folder)]}, the
  ways run alternately, each into an empty cache."""
  runs = {way: [] for way, _ in WAYS}
  for i in range(count):
    for way, _ in WAYS:
      work = os.path.join(scratch, '%s_%d' % (way, i))
      if way == 'retrain':
        seconds, cpu_s = time_retrain(model_dir, work)
        startup_s = None
      else:
        seconds, cpu_s, startup_s = time_beam(
            model_dir, work, portable_args if way == 'portable' else ())
      runs[way].append((seconds, cpu_s, startup_s, work))
      print('  %s run %d: %.1f s, %.1f CPU s%s (load average %.1f)' % (
          way, i + 1, seconds, cpu_s,
          ', start-up %.1f s' % startup_s if startup_s else '', os.getloadavg()[0]),
          flush=True)
  return runs


def report_runs(runs, workers, services_s):
  (retrain_s, retrain_cpu_s, _, retrain_work), (beam_s, beam_cpu_s, beam_up_s, beam_work), (
      portable_s, _, portable_up_s, portable_work) = (min(runs[way]) for way, _ in WAYS)
  photos = len(cache_files(retrain_work))
  report('retrain.py caching, cold, to its "Training on" line', photos / retrain_s,
         'photo/s')
  report('cache_bottlenecks.py, local runner, cold, whole process', photos / beam_s,
         'photo/s', '>= %.1f x retrain.py' % RATIO_GOAL, retrain_s / beam_s)
  report('cache_bottlenecks.py, portable path, cold, whole process', photos / portable_s,
         'photo/s', 'x local runner', beam_s / portable_s)
  report('  start-up to the first cache file, local runner', beam_up_s, 's')
  report('  start-up to the first cache file, portable path', portable_up_s, 's')
  report('  after start-up, local runner', photos / (beam_s - beam_up_s), 'photo/s')
  report('  after start-up, portable path', photos / (portable_s - portable_up_s),
         'photo/s', 'x local runner', (beam_s - beam_up_s) / (portable_s - portable_up_s))
  report('  the portable services\' own start (once, not timed above)', services_s, 's')
  report('  CPU time per photo, retrain.py', retrain_cpu_s / photos, 's')
  report('  CPU time per photo, cache_bottlenecks.py (all processes)',
         beam_cpu_s / photos, 's', '', beam_cpu_s / retrain_cpu_s)
  for way, work in (('local runner', beam_work), ('portable path', portable_work)):
    same, count = identical(retrain_work, work)
    report('cache files cmp-identical to retrain.py\'s, %s' % way, same,
           'of %d' % count, 'all')
  steady = {way: max(common.steady_rate(os.path.join(run[3], 'cache'), STEADY_AFTER)
                     for run in runs[way]) for way in ('retrain', 'beam')}
  report('retrain.py, steady (after the first %d photos)' % STEADY_AFTER,
         steady['retrain'], 'photo/s')
  report('cache_bottlenecks.py, steady, all workers', steady['beam'], 'photo/s', '',
         steady['beam'] / steady['retrain'])
  per_worker = steady['beam'] / workers
  report('one worker process (one core), steady', per_worker, 'photo/s')
  report('  so a million photos on 100 such workers, computing',
         MILLION / (100 * per_worker) / 60, 'min')


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
    services_start = time.perf_counter()
    services, portable_args = start_portable_services(os.path.join(scratch, 'services'))
    try:
      services_s = time.perf_counter() - services_start
      runs = timed_runs(model_dir, scratch, args.runs, portable_args)
    finally:
      os.killpg(services.pid, signal.SIGKILL)
      services.wait()
    report_runs(runs, workers, services_s)
    print('Benchmark took %.0f s' % (time.time() - start))


if __name__ == '__main__':
  main()
