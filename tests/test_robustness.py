"""Odd photos, failed and killed runs: nothing breaks, nothing is lost."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from retraining.cache import parse_bottleneck

import standin
from conftest import (
  ROOT,
  assert_clean_failure,
  make_bad_photo_kinds,
  make_good_photo_kinds,
  make_photo_tree,
  retrain_args,
  run_script,
)


@pytest.mark.slow
def test_mixed_photo_kinds_train_and_bad_ones_are_skipped(tmp_path, model_dir):
  """Also: a class of fewer than 20 photos trains, with warnings."""
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=12)
  good = make_good_photo_kinds(str(tmp_path / 'photos' / 'roses'))
  bad = make_bad_photo_kinds(str(tmp_path / 'photos' / 'tulips'))
  # rare_00..04.jpg all hash into the training set at 10/10.
  make_photo_tree(photos, {'rare': (9, 9, 9)}, per_class=5)
  result = run_script('retrain.py', *retrain_args(tmp_path, photos, model_dir, 3))
  assert result.returncode == 0, result.stderr
  assert 'rare has only 5 photos (fewer than 20)' in result.stderr
  for category in ('validation', 'testing'):
    assert ("class 'rare' (5 photos) has no photo in the %s set" % category
            in result.stderr)
  total = 4 * 12 + len(good) + len(bad) + 5
  assert 'Found %d photos' % total in result.stdout
  counts = re.search(r'Training on (\d+) photos, validating on (\d+), '
                     r'testing on (\d+)', result.stdout).groups()
  assert sum(map(int, counts)) == total - len(bad)
  for path in bad.values():
    assert result.stderr.count(os.path.basename(path)) == 1, path
  skipped = (tmp_path / 'flowers_graph_skipped.txt').read_text().split()
  assert sorted(skipped) == sorted(bad.values())
  assert '%d photos could not be read' % len(bad) in result.stderr
  for path in good.values():
    cached = tmp_path / 'bottlenecks' / 'roses' / (os.path.basename(path) + '.txt')
    assert parse_bottleneck(cached.read_text()) is not None, path


def test_predict_reads_every_good_kind_and_names_each_bad_one(trained, tmp_path):
  """One call: each bad photo (and an empty folder) is named on one error
  line, every good one is classified, and the exit code says not all were."""
  work, _ = trained
  good = make_good_photo_kinds(str(tmp_path / 'good'))
  bad = make_bad_photo_kinds(str(tmp_path / 'bad'))
  empty = tmp_path / 'empty_folder'
  empty.mkdir()
  result = run_script('predict.py', *good.values(), *bad.values(), empty,
                      '--output_graph', work / 'flowers_graph.pb',
                      '--output_labels', work / 'flowers_labels.txt',
                      '--noshow_image')
  assert_clean_failure(result)
  assert result.returncode == 1
  assert result.stdout.count('roses (') == len(good)
  errors = [line for line in result.stderr.splitlines()
            if line.startswith('predict.py: error:')]
  assert len(errors) == len(bad) + 1
  for kind, path in bad.items():
    assert sum(path in line for line in errors) == 1, kind
  assert any(str(empty) in line and 'no photo' in line for line in errors)


def test_png_gives_the_same_bottleneck_as_the_jpeg_pixels_it_holds(tmp_path, model_dir):
  """Pillow-decoded photos enter the graph where DecodeJpeg's pixels do."""
  from PIL import Image

  from retraining import inception
  from retraining.graph import rewrite
  from retraining.graph import runner as graph_runner
  jpeg = make_good_photo_kinds(str(tmp_path))['jpeg']
  png = str(tmp_path / 'same_pixels.png')
  graph_def = rewrite.fast_graph_def(rewrite.read_graph_def(
      str(model_dir / standin.GRAPH_FILE_NAME)))
  with graph_runner.session_on(graph_def) as sess:
    pixels = sess.run(inception.DECODED_IMAGE_TENSOR_NAME,
                      {inception.JPEG_DATA_TENSOR_NAME: open(jpeg, 'rb').read()})
    Image.fromarray(pixels).save(png)
    assert np.array_equal(graph_runner.resize_photo(sess, jpeg),
                          graph_runner.resize_photo(sess, png))


def test_too_few_photos_for_the_split_is_a_clear_message(tmp_path, model_dir):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=25)
  # rare_00.jpg hashes into the test set at 50/40: no training photo left.
  make_photo_tree(photos, {'rare': (9, 9, 9)}, per_class=1)
  result = run_script('retrain.py', *retrain_args(tmp_path, photos, model_dir, 2),
                      '--testing_percentage=50', '--validation_percentage=40')
  assert_clean_failure(result)
  assert ("class 'rare' has no photo in the training set (1 usable photos in "
          "all): add photos") in result.stderr


def test_all_photos_of_a_class_bad_is_a_clear_error(tmp_path, model_dir):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=8)
  make_bad_photo_kinds(str(tmp_path / 'photos' / 'broken'))
  result = run_script('retrain.py', *retrain_args(tmp_path, photos, model_dir, 2))
  assert_clean_failure(result)
  assert "'broken'" in result.stderr and 'add photos' in result.stderr


def test_failed_run_keeps_the_previous_model(trained, tmp_path, model_dir):
  work, _ = trained
  graph = (work / 'flowers_graph.pb').read_bytes()
  labels = (work / 'flowers_labels.txt').read_bytes()
  photos = make_photo_tree(str(tmp_path / 'photos'), {'one': (1, 2, 3)}, 3)
  args = retrain_args(work, photos, model_dir, 2)
  result = run_script('retrain.py', *args)
  assert_clean_failure(result)
  assert 'only one class' in result.stderr
  assert (work / 'flowers_graph.pb').read_bytes() == graph
  assert (work / 'flowers_labels.txt').read_bytes() == labels


# TensorFlow's two families of CPU kernels round differently, and it reads
# the variables choosing them when it is imported: the kill tests run both.
# Eigen's (oneDNN off: the default on CPUs without AVX-512 VNNI, BF16 or AMX)
# is capped at AVX2, as on most users' CPUs: on CPUs with AVX-512, it is the
# setting under which a photo's bottleneck used to change with its batch.
KERNELS = {'eigen_avx2': {'TF_ENABLE_ONEDNN_OPTS': '0', 'ONEDNN_MAX_CPU_ISA': 'AVX2'},
           'onednn': {'TF_ENABLE_ONEDNN_OPTS': '1'}}
PHOTOS_PER_CLASS = 100


def kill_when_cached(args, cache, count, env):
  """Starts retrain.py and kills it (-9) once `count` cache files are on
  disk; returns how many there are then, after checking each parses."""
  process = subprocess.Popen(
      [sys.executable, os.path.join(ROOT, 'retrain.py')] + args,
      env=dict(os.environ, **env), stdout=subprocess.DEVNULL,
      stderr=subprocess.DEVNULL)
  deadline = time.monotonic() + 600  # Only against a hang: machines differ.
  while (process.poll() is None and time.monotonic() < deadline and
         len(list(cache.glob('*/*.txt'))) < count):
    time.sleep(0.005)
  process.kill()
  process.wait()
  done = list(cache.glob('*/*.txt'))
  assert count <= len(done) < 4 * PHOTOS_PER_CLASS, (
      'the kill came too late to test anything')
  for path in done:
    assert parse_bottleneck(path.read_text()) is not None, path
  return len(done)


@pytest.mark.slow
@pytest.mark.parametrize('kernels', sorted(KERNELS))
def test_cold_resumed_and_warm_runs_give_the_same_model(tmp_path, model_dir,
                                                       kernels):
  """The same photos, flags and seed give the same graph, byte for byte,
  whether the cache was cold, warm, or filled by runs killed at two points."""
  env = KERNELS[kernels]
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=PHOTOS_PER_CLASS)
  cold = tmp_path / 'cold'
  result = run_script('retrain.py', *retrain_args(cold, photos, model_dir, 20),
                      env=env)
  assert result.returncode == 0, result.stderr
  reference_graph = (cold / 'flowers_graph.pb').read_bytes()

  work = tmp_path / 'killed'
  args = retrain_args(work, photos, model_dir, 20)
  cache = work / 'bottlenecks'
  for count in (10, 150):
    done = kill_when_cached(args, cache, count, env)
  result = run_script('retrain.py', *args, env=env)
  assert result.returncode == 0, result.stderr
  created = int(re.search(r'Creating (\d+) bottlenecks', result.stdout).group(1))
  assert created <= 4 * PHOTOS_PER_CLASS - done
  assert not [p for p in cache.rglob('*') if p.name.endswith('.tmp')]
  assert (work / 'flowers_graph.pb').read_bytes() == reference_graph

  result = run_script('retrain.py', *args, env=env)
  assert result.returncode == 0, result.stderr
  assert 'Creating' not in result.stdout  # Every bottleneck came from the cache.
  assert (work / 'flowers_graph.pb').read_bytes() == reference_graph
  if kernels == 'onednn':  # And the seed matters.
    result = run_script('retrain.py', *args, '--random_seed=6', env=env)
    assert result.returncode == 0, result.stderr
    assert (work / 'flowers_graph.pb').read_bytes() != reference_graph


def as_from_a_shell():
  """In the child: Ctrl-C's signal handled by default and not blocked, as a
  shell starts a command (a test runner's process may have changed both,
  and a child inherits them: under coverage the run then went on to the
  end)."""
  signal.signal(signal.SIGINT, signal.SIG_DFL)
  signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])


@pytest.mark.slow
def test_ctrl_c_exits_with_one_line(model_dir, tmp_path):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=PHOTOS_PER_CLASS)
  process = subprocess.Popen(
      [sys.executable, os.path.join(ROOT, 'retrain.py')] +
      retrain_args(tmp_path, photos, model_dir, 20),
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
      preexec_fn=as_from_a_shell)
  cache = tmp_path / 'bottlenecks'
  deadline = time.monotonic() + 600  # Only against a hang: machines differ.
  while (process.poll() is None and time.monotonic() < deadline and
         not list(cache.glob('*/*.txt'))):
    time.sleep(0.005)
  process.send_signal(signal.SIGINT)
  stdout, stderr = process.communicate(timeout=120)
  assert process.returncode != 0, stdout[-2000:] + stderr[-2000:]
  assert 'Traceback' not in stderr and 'interrupted' in stderr
