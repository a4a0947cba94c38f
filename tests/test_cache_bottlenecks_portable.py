"""cache_bottlenecks.py on Beam's portable path, the protocol every runner
uses to run Python workers (Flink's and Spark's job servers, Dataflow's
Runner v2, a Kubernetes worker pool): Beam's Python job service and an SDK
worker pool, both from a second virtual environment that has Beam and
TensorFlow but not the project, so the workers get the code only by
staging. Each worker is started by retraining/beam/boot.py, which does what
the SDK container's boot does.

The environment, the job service and the worker pool are made once per
session by tests/portable_services.py, on loopback only, and stopped at
its end.
"""

import importlib.util
import os
import signal
import subprocess
import sys

import pytest

from conftest import ROOT, make_good_photo_kinds, run_script
from test_cache_bottlenecks import (
  HANG_GUARD_S,
  SCRIPT,
  SKIPPED_LIST,
  assert_same_files,
  cache_files,
  complete_cache_files,
  make_a_twin,
  needs_beam,
  photo_count,
  photos_with_a_broken_one,
  retrains_cache,
  stamps,
  summary,
  twin_cache_files,
  wait_for_a_cache_file,
)

TESTS = os.path.dirname(os.path.abspath(__file__))

pytestmark = [needs_beam, pytest.mark.skipif(
    importlib.util.find_spec('venv') is None, reason='needs the venv module')]


def stop(process):
  """Ends `process` and everything it started."""
  try:
    os.killpg(process.pid, signal.SIGKILL)
  except ProcessLookupError:
    pass
  process.wait()


@pytest.fixture(scope='session')
def portable(tmp_path_factory):
  """(job service port, worker pool port, worker pool's process id)."""
  folder = tmp_path_factory.mktemp('portable')
  services = subprocess.Popen(
      [sys.executable, os.path.join(TESTS, 'portable_services.py'), str(folder)],
      stdout=subprocess.PIPE, text=True, start_new_session=True)
  try:
    line = services.stdout.readline()
    assert line, 'the services did not start: see the logs in %s' % folder
    lacks = subprocess.run([str(folder / 'venv' / 'bin' / 'python'), '-c',
                            'import retraining'], cwd=folder, capture_output=True,
                           text=True, timeout=120)
    assert "No module named 'retraining'" in lacks.stderr, lacks.stderr
    yield tuple(int(n) for n in line.split())
  finally:
    stop(services)


def portable_args(portable, image_dir, bottleneck_dir, model_dir):
  """The flags a user gives for the job service and worker pool."""
  job_port, pool_port, _ = portable
  return ['--image_dir=%s' % image_dir, '--bottleneck_dir=%s' % bottleneck_dir,
          '--model_dir=%s' % model_dir, '--runner=PortableRunner',
          '--job_endpoint=localhost:%d' % job_port, '--environment_type=EXTERNAL',
          '--environment_config=localhost:%d' % pool_port]


@pytest.mark.slow
def test_workers_given_the_code_by_staging_write_retrains_cache(
    tmp_path, model_dir, portable):
  """Eigen's kernels (TF_ENABLE_ONEDNN_OPTS=0); oneDNN's are the killed
  job's below, so that each family runs once: the driver's choice reaches
  the workers, whose worker pool was started without it."""
  env = {'TF_ENABLE_ONEDNN_OPTS': '0'}
  photos, broken = photos_with_a_broken_one(tmp_path / 'photos', per_class=3)
  make_good_photo_kinds(os.path.join(photos, 'kinds'))
  make_a_twin(photos)
  bottlenecks = tmp_path / 'b'
  args = portable_args(portable, photos, bottlenecks, model_dir)
  by_beam = run_script(SCRIPT, *args, env=env)
  assert by_beam.returncode == 0, by_beam.stderr
  count = photo_count(photos)
  assert summary(by_beam) == (count, 0, count - 1, 1)
  assert '(PortableRunner, worker processes as the runner starts them' in by_beam.stdout
  assert (bottlenecks / SKIPPED_LIST).read_text() == broken + '\n'
  assert len(twin_cache_files(cache_files(bottlenecks))) == 1
  assert_same_files(cache_files(bottlenecks),
                    retrains_cache(tmp_path / 'r', photos, model_dir, env))

  before = stamps(bottlenecks)
  again = run_script(SCRIPT, *args, env=env)
  assert again.returncode == 0, again.stderr
  assert summary(again) == (count, count - 1, 0, 1)
  assert stamps(bottlenecks) == before


def sdk_workers(pool):
  """The process ids of the SDK workers the worker pool `pool` (its id)
  started."""
  found = []
  for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
      with open('/proc/%s/stat' % pid) as f:
        parent = int(f.read().rsplit(')', 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
      continue
    if parent == pool:
      found.append(int(pid))
  return found


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='needs named pipes (POSIX)')
def test_a_worker_killed_mid_job_leaves_no_half_written_file(
    tmp_path, model_dir, portable):
  """A photo that is a named pipe blocks the worker's read for ever, so the
  job is surely still running when its worker is killed. The next run
  computes the rest, and the cache is retrain.py's, under oneDNN's kernels
  (TF_ENABLE_ONEDNN_OPTS=1, the driver's, reaching the workers)."""
  env = {'TF_ENABLE_ONEDNN_OPTS': '1'}
  photos, broken = photos_with_a_broken_one(tmp_path / 'photos', per_class=4)
  stuck = os.path.join(photos, 'tulips', 'stuck.jpg')
  os.mkfifo(stuck)
  bottlenecks = tmp_path / 'b'
  args = portable_args(portable, photos, bottlenecks, model_dir)
  job = subprocess.Popen([sys.executable, os.path.join(ROOT, SCRIPT)] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, **env), start_new_session=True)
  try:
    wait_for_a_cache_file(job, bottlenecks)
    for pid in sdk_workers(portable[2]):
      os.kill(pid, signal.SIGKILL)
    _, err = job.communicate(timeout=HANG_GUARD_S)
  finally:
    stop(job)
  assert job.returncode != 0, err

  complete_cache_files(bottlenecks)
  kept = stamps(bottlenecks)

  os.remove(stuck)
  result = run_script(SCRIPT, *args, env=env)
  assert result.returncode == 0, result.stderr
  count = photo_count(photos)
  assert summary(result) == (count, len(kept), count - 1 - len(kept), 1)
  assert (bottlenecks / SKIPPED_LIST).read_text() == broken + '\n'
  now = stamps(bottlenecks)
  assert {rel: now[rel] for rel in kept} == kept  # Not written again.
  assert_same_files(cache_files(bottlenecks),
                    retrains_cache(tmp_path / 'r', photos, model_dir, env))
