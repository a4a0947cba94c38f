"""cache_bottlenecks.py: the Beam pipeline on its local runner with two worker
processes, against retrain.py's own cache.

Without Apache Beam (requirements-beam.txt) these tests skip, except the one
checking the error that says to install it. Beam is not imported into this
process: its import sets up Python's root log handler, which would change
what other tests' captured output holds.
"""

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time

import pytest

from retraining import bases, cache
from retraining.machine import cpu_cores

from conftest import (
  ROOT,
  assert_clean_failure,
  base_model_dir,
  closed_port_url,
  make_good_photo_kinds,
  make_photo,
  make_photo_tree,
  retrain_args,
  run_script,
)

needs_beam = pytest.mark.skipif(importlib.util.find_spec('apache_beam') is None,
                                reason='Apache Beam is not installed '
                                '(pip install -r requirements-beam.txt)')
SCRIPT = 'cache_bottlenecks.py'
SKIPPED_LIST = 'skipped_photos.txt'
HANG_GUARD_S = 300  # A job that never writes a file fails the test after this.


def cache_args(image_dir, bottleneck_dir, model_dir, *extra):
  """The flags a user gives, with the local runner's two worker processes."""
  return ['--image_dir=%s' % image_dir, '--bottleneck_dir=%s' % bottleneck_dir,
          '--model_dir=%s' % model_dir, '--direct_num_workers=2'] + list(extra)


def cache_files(bottleneck_dir):
  """{class folder/photo.txt: bytes} of every cache file."""
  found = {}
  for folder in sorted(os.listdir(bottleneck_dir)):
    path = os.path.join(bottleneck_dir, folder)
    if os.path.isdir(path):
      for name in os.listdir(path):
        if name.endswith(cache.CACHE_SUFFIX) and not name.startswith('.'):
          with open(os.path.join(path, name), 'rb') as f:
            found[os.path.join(folder, name)] = f.read()
  return found


def stamps(bottleneck_dir):
  """What a write changes, even in the clock tick of the last: files are
  written to a new file renamed over the old, so it gets a new inode."""
  found = {}
  for rel in cache_files(bottleneck_dir):
    st = os.stat(os.path.join(bottleneck_dir, rel))
    found[rel] = st.st_ino, st.st_mtime_ns
  return found


def photo_count(image_dir):
  return sum(len(files) for _, _, files in os.walk(image_dir))


def summary(result):
  """(photos, cached, computed, skipped) from the job's last line."""
  match = re.search(r'(\d+) photos: (\d+) were cached already, (\d+) computed, '
                    r'(\d+) skipped', result.stdout)
  assert match, result.stdout + result.stderr
  return tuple(int(n) for n in match.groups())


def photos_with_a_broken_one(folder, per_class):
  photos = make_photo_tree(str(folder), per_class=per_class)
  broken = os.path.join(photos, 'roses', 'broken.jpg')
  with open(broken, 'w') as f:
    f.write('not a photo\n')
  return photos, broken


def retrains_cache(work, photos, model_dir, env=None, *extra):
  """{name: bytes} of the cache retrain.py writes for `photos`."""
  trained = run_script('retrain.py', *retrain_args(work, photos, model_dir, 2, *extra),
                       env=env)
  assert trained.returncode == 0, trained.stderr
  return cache_files(work / 'bottlenecks')


def assert_same_files(written, expected):
  assert sorted(written) == sorted(expected)
  # Names only: pytest's diff of thousands of numbers takes minutes.
  differing = sorted(name for name in expected if written[name] != expected[name])
  assert not differing, '%d files differ: %s' % (len(differing), differing[:3])


def make_a_twin(photos):
  """A photo whose name differs from another's only in case (see
  image_lists.twin_originals), of other pixels: retrain.py gives it a cache file
  of its own, `<name>.twin-<hash>.txt`."""
  return make_photo(os.path.join(photos, 'roses', 'ROSES_00.JPG'), (0, 90, 0), seed=5)


def twin_cache_files(written):
  return [name for name in written if '.twin-' in name]


def test_without_beam_it_says_what_to_install(tmp_path):
  """Run as a user would, with Beam hidden from the interpreter."""
  hide_beam = ("import runpy, sys; sys.modules['apache_beam'] = None; "
               "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], "
               "run_name='__main__')")
  result = subprocess.run(
      [sys.executable, '-c', hide_beam, os.path.join(ROOT, SCRIPT),
       '--image_dir=%s' % tmp_path], capture_output=True, text=True, timeout=120)
  assert_clean_failure(result)
  assert 'requirements-beam.txt' in result.stderr


@needs_beam
@pytest.mark.parametrize('mistake', ['missing folder', 'misspelt flag'])
def test_a_missing_photo_folder_or_unknown_flag_is_one_clear_error(
    tmp_path, model_dir, mistake):
  args = cache_args(tmp_path / 'nowhere', tmp_path / 'b', model_dir)
  if mistake == 'misspelt flag':
    args[0] = args[0].replace('--image_dir', '--image_dri')
  result = run_script(SCRIPT, *args)
  assert_clean_failure(result)
  assert ('--image_dri' if mistake == 'misspelt flag' else
          str(tmp_path / 'nowhere')) in result.stderr.splitlines()[-1]
  assert not (tmp_path / 'b').exists()


@needs_beam
@pytest.mark.parametrize('runner', [
    ['--runner=DaskRunner', '--dask_client_address=127.0.0.1:8786'],
    ['--runner=apache_beam.runners.dask.dask_runner.DaskRunner']])
def test_a_runner_naming_dask_is_refused_saying_what_to_use(tmp_path, model_dir, runner):
  """Beam 2.77's Dask runner would write a wrong cache (see
  retraining/beam/options.py): nothing is started, nothing written."""
  result = run_script(SCRIPT, *cache_args(tmp_path / 'photos', tmp_path / 'b',
                                          model_dir), *runner)
  assert_clean_failure(result)
  assert result.returncode == 1
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('cache_bottlenecks.py: error: %s: Beam 2.77\'s Dask runner '
                         'would write a wrong cache' % runner[0]), last
  assert '--runner=PortableRunner' in last and 'unknown flag' not in result.stderr
  assert not (tmp_path / 'b').exists()


@needs_beam
@pytest.mark.parametrize('runner', [
    ['--runner=FlinkRunner', '--flink_master=localhost:8081'],
    ['--runner=apache_beam.runners.render.RenderRunner', '--render_output=job.svg']])
def test_a_runners_own_options_are_beams_not_unknown(tmp_path, model_dir, runner):
  """Options Beam defines for a runner, in its own module too (the render
  runner's), pass the flag check: the run goes on to the next check, the
  photo folder, which is missing here, before any job starts."""
  result = run_script(SCRIPT, *cache_args(tmp_path / 'nowhere', tmp_path / 'b',
                                          model_dir), *runner)
  assert_clean_failure(result)
  assert result.stderr.strip().splitlines()[-1] == (
      'cache_bottlenecks.py: error: image folder %s does not exist' % (
          tmp_path / 'nowhere'))


@needs_beam
def test_a_job_server_jar_that_cannot_be_downloaded_is_one_clear_line(
    tmp_path, model_dir):
  """The Flink runner first downloads its job server's jar (from Maven
  Central, unless given): here from a loopback URL nothing listens on, as
  offline. Beam's cache of jars is in the test's HOME."""
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=1)
  jar = closed_port_url().rsplit('/', 1)[0] + '/flink-job-server.jar'
  result = run_script(SCRIPT, *cache_args(photos, tmp_path / 'b', model_dir),
                      '--runner=FlinkRunner', '--flink_job_server_jar=' + jar,
                      env={'HOME': str(tmp_path)})
  assert_clean_failure(result)
  assert result.returncode == 1
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('cache_bottlenecks.py: error: the runner\'s job server '
                         'cannot start. Unable to fetch remote job server jar at '
                         '%s: ' % jar), last
  assert last.endswith('or give its jar (--flink_job_server_jar=PATH, '
                       '--spark_job_server_jar=PATH)'), last
  assert not (tmp_path / 'b').exists()


@needs_beam
@pytest.mark.slow
def test_a_graph_the_workers_cannot_read_ends_with_one_clear_line(tmp_path):
  """The workers print Beam's own report of it; the job's last line says
  what to do, and the exit code is 1."""
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=2)
  broken = tmp_path / 'inception' / 'classify_image_graph_def.pb'
  broken.parent.mkdir()
  broken.write_bytes(b'not a graph')
  result = run_script(SCRIPT, *cache_args(photos, tmp_path / 'b', broken.parent))
  assert result.returncode == 1
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('cache_bottlenecks.py: error: %s is not a TensorFlow '
                         'graph' % broken), last


@needs_beam
@pytest.mark.slow
@pytest.mark.parametrize('onednn, base', [('0', bases.DEFAULT), ('1', bases.DEFAULT),
                                          ('1', 'mobilenet_v3_small')])
def test_the_cache_is_retrains_byte_for_byte_and_retrain_creates_none(
    tmp_path, model_dir, keras_model_dir, onednn, base):
  """Every kind of photo a user has (JPEG bytes into the graph, Pillow's
  pixels for the rest), under both of TensorFlow's kernel families, and
  on a Keras base."""
  env = {'TF_ENABLE_ONEDNN_OPTS': onednn}
  model_dir, architecture = base_model_dir(base, model_dir, keras_model_dir)
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=5)
  make_good_photo_kinds(os.path.join(photos, 'kinds'))
  make_a_twin(photos)
  expected = retrains_cache(tmp_path / 'r', photos, model_dir, env, architecture)
  # Into the cache folder of a second retrain.py run.
  bottlenecks = tmp_path / 't' / 'bottlenecks'
  by_beam = run_script(SCRIPT, *cache_args(photos, bottlenecks, model_dir,
                                           architecture), env=env)
  assert by_beam.returncode == 0, by_beam.stderr
  count = photo_count(photos)
  assert summary(by_beam) == (count, 0, count, 0)
  threads = max(1, cpu_cores() // 2)  # The cores, shared by the 2.
  assert '(FnApiRunner, 2 worker processes, %d threads per worker process)' % (
      threads) in by_beam.stdout

  assert len(expected) == count
  written = cache_files(bottlenecks)
  assert len(twin_cache_files(written)) == 1
  assert_same_files(written, expected)
  assert (bottlenecks / SKIPPED_LIST).read_text() == ''

  before = stamps(bottlenecks)
  trained = run_script('retrain.py', *retrain_args(tmp_path / 't', photos,
                                                   model_dir, 2, architecture),
                       env=env)
  assert trained.returncode == 0, trained.stderr
  assert 'Creating' not in trained.stdout
  assert '%d cached' % count in trained.stderr
  assert stamps(bottlenecks) == before


def wait_for_a_cache_file(job, bottlenecks):
  """Until `job` (a running process) has written a cache file."""
  waited = time.monotonic()
  while not (bottlenecks.exists() and cache_files(bottlenecks)):
    assert job.poll() is None, 'the job ended before it was killed'
    assert time.monotonic() - waited < HANG_GUARD_S, 'no cache file written'
    time.sleep(0.2)


def complete_cache_files(bottlenecks):
  """The cache files a killed job left, each checked complete; anything
  else there is a temporary file, which nothing reads."""
  left = cache_files(bottlenecks)
  for rel, data in left.items():
    assert cache.parse_bottleneck(data.decode(), 2048) is not None, rel
  for folder in os.listdir(bottlenecks):
    for name in os.listdir(bottlenecks / folder):
      assert name.endswith(cache.CACHE_SUFFIX) or (
          name.startswith('.') and name.endswith('.tmp')), name
  return left


@needs_beam
@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='needs named pipes (POSIX)')
def test_a_killed_job_resumes_with_only_what_is_missing(tmp_path, model_dir):
  """A photo that is a named pipe blocks its worker's read for ever, so the
  job is surely still running when it is killed (the driver and its worker
  processes at once), whatever the speed of the machine. Two more cache
  files are deleted before the second run, and a broken photo is skipped
  and named."""
  photos, broken = photos_with_a_broken_one(tmp_path / 'photos', per_class=6)
  stuck = os.path.join(photos, 'tulips', 'stuck.jpg')
  os.mkfifo(stuck)
  bottlenecks = tmp_path / 'b'
  job = subprocess.Popen(
      [sys.executable, os.path.join(ROOT, SCRIPT)] + cache_args(
          photos, bottlenecks, model_dir),
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
  try:
    wait_for_a_cache_file(job, bottlenecks)
  finally:
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()

  left = complete_cache_files(bottlenecks)
  deleted = sorted(left)[:2]
  for rel in deleted:
    os.remove(bottlenecks / rel)
  kept = stamps(bottlenecks)

  os.remove(stuck)
  result = run_script(SCRIPT, *cache_args(photos, bottlenecks, model_dir))
  assert result.returncode == 0, result.stderr
  count = photo_count(photos)
  assert summary(result) == (count, len(kept), count - 1 - len(kept), 1)
  assert 'WARNING: skipped %s: ' % broken in result.stderr
  assert (bottlenecks / SKIPPED_LIST).read_text() == broken + '\n'
  now = stamps(bottlenecks)
  assert len(now) == count - 1
  assert {rel: now[rel] for rel in kept} == kept  # Not written again.
  for rel in deleted:
    assert cache_files(bottlenecks)[rel] == left[rel]


@needs_beam
@pytest.mark.slow
def test_two_jobs_on_one_cache_at_once_lose_nothing(tmp_path, model_dir):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=8)
  bottlenecks = tmp_path / 'b'
  command = [sys.executable, os.path.join(ROOT, SCRIPT)] + cache_args(
      photos, bottlenecks, model_dir)
  jobs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True) for _ in range(2)]
  outputs = [job.communicate(timeout=HANG_GUARD_S) for job in jobs]
  for job, (_, err) in zip(jobs, outputs):
    assert job.returncode == 0, err
  written = cache_files(bottlenecks)
  assert len(written) == photo_count(photos)
  for rel, data in written.items():
    assert cache.parse_bottleneck(data.decode(), 2048) is not None, rel
  temporary = [name for folder in os.listdir(bottlenecks)
               if (bottlenecks / folder).is_dir()
               for name in os.listdir(bottlenecks / folder) if name.startswith('.')]
  assert not temporary


def test_setup_py_packs_what_the_workers_import(tmp_path):
  """As Beam's --setup_file builds it (an sdist), from a copy of the files."""
  shutil.copy(os.path.join(ROOT, 'setup.py'), tmp_path)
  shutil.copytree(os.path.join(ROOT, 'retraining'), tmp_path / 'retraining',
                  ignore=shutil.ignore_patterns('__pycache__'))
  built = subprocess.run([sys.executable, 'setup.py', '-q', 'sdist', '--dist-dir',
                          'dist'], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
  assert built.returncode == 0, built.stderr
  (archive,) = (tmp_path / 'dist').iterdir()
  with tarfile.open(archive) as tar:
    names = {name.split('/', 1)[-1] for name in tar.getnames()}
    requires = tar.extractfile(next(
        m for m in tar.getmembers() if m.name.endswith('requires.txt'))).read()
  package = {os.path.relpath(os.path.join(folder, name), ROOT)
             for folder, _, file_names in os.walk(os.path.join(ROOT, 'retraining'))
             for name in file_names if name.endswith(('.py', '.fbs'))}
  assert 'retraining/beam/pipeline.py' in package
  assert package <= names, package - names
  assert b'tensorflow' in requires
