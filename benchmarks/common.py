"""What the benchmarks share: where the shared data lies, the stand-in model
built by its own command and the Keras bases' model folders with test-made
weights, timed processes with their peak RSS, worker jobs in
fresh processes, the steady caching rate, and one format for every figure.

Importing it puts the repository's root on sys.path, so that benchmarks and
their in-process workers can import the package `retraining`.
"""

import argparse
import collections
import csv
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCHMARKS)
sys.path.insert(0, ROOT)

# ../shared/data: the 150 original photos, and the 3,670 flowers with their
# real bottlenecks (read-only: benchmarks write to copies).
SHARED_DATA = os.path.join(os.path.dirname(ROOT), 'shared', 'data')
ORIGINALS, REAL_PHOTOS, REAL_BOTTLENECKS = (os.path.join(SHARED_DATA, name) for name in (
    'flower_photos_original_sample', 'flower_photos', 'inception_v3_bottlenecks'))
# The scripts timed, and the tests' tools run as commands: the stand-in
# Inception graph, the virtual screen that times predict.py's window, and
# the Keras bases' weights files.
RETRAIN, PREDICT = (os.path.join(ROOT, name) for name in ('retrain.py', 'predict.py'))
STANDIN, SCREEN, KERAS_WEIGHTS = (os.path.join(ROOT, 'tests', name) for name in (
    'standin.py', 'screen.py', 'keras_weights.py'))
GRAPH_FILE_NAME = 'classify_image_graph_def.pb'  # what retrain.py reads
MODEL_ARCHIVE = 'inception-2015-12-05.tgz'  # what retrain.py downloads
MULTIPLY_ADDS = re.compile(r'([\d.]+) G multiply-adds per photo')  # standin.py's
ACCURACY = re.compile(r'Final test accuracy = [\d.]+% \(N=\d+\)')  # retrain.py's


# ------------------------------------------------------------ the machine

def cpu_name():
  """`lscpu`'s Model name."""
  try:
    text = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
  except OSError:
    text = ''
  match = re.search(r'^Model name:\s*(.+)$', text, re.M)
  return match.group(1).strip() if match else 'unknown CPU'


def machine_line():
  """The CPU, its cores and vector units, oneDNN's setting, the load."""
  with open('/proc/cpuinfo') as f:
    flags = next((line.split(':', 1)[1].split() for line in f
                  if line.startswith('flags')), [])
  return ('CPU: %s, %d cores, %s; TF_ENABLE_ONEDNN_OPTS=%s; load average %s'
          % (cpu_name(), os.cpu_count(),
             'AVX-512' if 'avx512f' in flags else 'AVX2' if 'avx2' in flags
             else 'no AVX2', os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset'),
             load_average()))


def load_average():
  return '%.1f %.1f %.1f' % os.getloadavg()


def copy_real_bottlenecks(folder):
  """A work folder in `folder` holding a copy of the real bottlenecks as
  bottlenecks/, for retrain.py to run in on a warm cache."""
  work = os.path.join(folder, 'work')
  shutil.copytree(REAL_BOTTLENECKS, os.path.join(work, 'bottlenecks'))
  return work


def require(script, *folders):
  """Exits with one line naming the first of `folders` that is missing."""
  for folder in folders:
    if not os.path.isdir(folder):
      sys.exit('%s: error: it needs %s' % (script, folder))


def run_on_the_full_standin(script, doc, run_benchmark):
  """A benchmark's main(): its --help from `doc`, the shared data
  required, then run_benchmark(model_dir, work) in a scratch folder, with
  the full stand-in built there and the real bottlenecks copied into
  `work`; the machine, the stand-in's cost and the time taken printed
  around it."""
  argparse.ArgumentParser(description=doc.split('\n')[0]).parse_args()
  require(script, ORIGINALS, REAL_PHOTOS, REAL_BOTTLENECKS)
  start = time.time()
  with tempfile.TemporaryDirectory() as scratch:
    print(machine_line(), flush=True)
    model_dir, multiply_adds = build_standin(scratch)
    print('Full stand-in: %.3f G multiply-adds a photo' % (multiply_adds / 1e9))
    run_benchmark(model_dir, copy_real_bottlenecks(scratch))
  print('Benchmark took %.0f s; load average %s (other work on the machine '
        'makes the timings noisy)' % (time.time() - start, load_average()))


# ------------------------------------------------------------ figures

def report(name, value, unit, goal='', ratio=None):
  """One figure: its name, value and unit, its ratio to a baseline measured
  in the same run, and its goal."""
  ratio_text = '' if ratio is None else '%.2fx' % ratio
  print('%-62s %10.4g %-8s %7s  %s' % (name, value, unit, ratio_text, goal),
        flush=True)


def steady_rate(cache_dir, after):
  """Photos per second once the first `after` photos are cached, from the
  times their cache files were written; NaN for too few photos. A rate
  within one run stays put where the difference of two whole runs moves
  with the machine's other work."""
  written = sorted(os.stat(path).st_mtime_ns / 1e9 for path in
                   glob.glob(os.path.join(cache_dir, '*', '*.txt')))
  if len(written) <= after + 1:
    return float('nan')
  return (len(written) - 1 - after) / (written[-1] - written[after])


def csv_scores(path):
  """The score columns of predict.py's --output_csv table [photos, labels]."""
  with open(path, newline='', encoding='utf-8') as f:
    rows = list(csv.reader(f))
  return np.array([row[3:-1] for row in rows[1:]], float)


# ------------------------------------------------------------ processes

# Starts the command and records its wall time and peak RSS. A child's peak
# RSS counts the memory of the process it was forked from (Linux copies the
# parent's high-water mark), and a benchmark may hold a big graph: the
# command is started from this small process instead.
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


def wall_and_rss(command):
  """(wall seconds, peak RSS in MB) of a command run to its end."""
  run = run_process(command)
  return run.wall_s, run.rss_mb


def in_turn(commands, measure, rounds=2):
  """{name: [measure(command) of each round]}: the commands run one after
  the other, round after round, so that the machine's other load weighs on
  each alike (and the first round warms the disk cache)."""
  results = {name: [] for name in commands}
  for _ in range(rounds):
    for name, command in commands.items():
      results[name].append(measure(command))
  return results


def run_worker(script, name, *args):
  """Runs `script --worker name args...` in a fresh process; returns the
  figures of the JSON line it prints last."""
  run = run_process([sys.executable, script, '--worker', name] +
                    [str(a) for a in args])
  return json.loads(stdout(run).strip().splitlines()[-1])


def work_as_worker(workers):
  """When started as `--worker NAME ARGS...`, runs workers[NAME](*ARGS),
  prints its figures as one JSON line and returns True."""
  if sys.argv[1:2] != ['--worker']:
    return False
  print(json.dumps(workers[sys.argv[2]](*sys.argv[3:])))
  return True


# ------------------------------------------------------------ the tools

def build_standin(folder, size='full', archive=False):
  """tests/standin.py's stand-in Inception graph, built by its command, as
  retrain.py's model folder (with the model's .tgz too if `archive`);
  returns the folder and the graph's multiply-adds per photo."""
  model_dir = os.path.join(folder, 'inception')
  os.makedirs(model_dir)
  command = [sys.executable, STANDIN, size, os.path.join(model_dir, GRAPH_FILE_NAME)]
  if archive:
    command += ['--tgz', os.path.join(model_dir, MODEL_ARCHIVE)]
  built = subprocess.run(command, capture_output=True, text=True)
  if built.returncode:
    sys.exit('%s failed:\n%s' % (' '.join(command[1:3]), built.stderr[-3000:]))
  return model_dir, float(MULTIPLY_ADDS.search(built.stdout).group(1)) * 1e9


# Freezes a Keras base's graph from the weights file in its model folder, by
# the package's own step (retrain.py's first), in a process of its own.
FREEZE_BASE = """
import sys
sys.path.insert(0, sys.argv[1])
from retraining import bases, downloads
downloads.maybe_download_base(bases.BASES[sys.argv[2]], sys.argv[3], sys.argv[4])
"""


def closed_port_url():
  """A loopback URL nothing listens on: retrain.py's --model_url for a
  model folder that already holds its base, so that no download is tried
  (and any would fail at once)."""
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return 'http://127.0.0.1:%d/base' % s.getsockname()[1]


def build_base(name, folder):
  """retrain.py's --model_dir for the base `name` (retraining/bases.py),
  made in `folder`, and the --model_url to pass with it. inception_v3: the
  full stand-in. A Keras base: tests/keras_weights.py's file (the real
  architecture, random weights) under the name Keras gives it, frozen there
  into the base's graph, so retrain.py fetches nothing; the weights file
  comes from another address than Keras' own, so it is trusted as it is."""
  url = closed_port_url()
  if name == 'inception_v3':
    return build_standin(folder)[0], url
  model_dir = os.path.join(folder, name)
  for command in ([sys.executable, KERAS_WEIGHTS, name, model_dir],
                  [sys.executable, '-c', FREEZE_BASE, ROOT, name, model_dir, url]):
    built = subprocess.run(command, capture_output=True, text=True)
    if built.returncode:
      sys.exit('%s failed:\n%s' % (' '.join(command[1:3]), built.stderr[-3000:]))
  return model_dir, url


def seconds_until_window_drawn(command):
  """Seconds from starting `command` (predict.py showing its window) until
  its bar chart is on a virtual screen (tests/screen.py's); None without
  Xvfb and ImageMagick, or if it is not drawn."""
  result = subprocess.run([sys.executable, SCREEN] + command,
                          capture_output=True, text=True)
  try:
    return float(result.stdout.split()[-1]) if result.returncode == 0 else None
  except (IndexError, ValueError):
    return None
