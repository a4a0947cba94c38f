"""retrain.py run as a user runs it, on generated photos and the stand-in:
its outputs, its cache, its downloads, odd photos, failed and killed runs."""

import ast
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import unicodedata

import numpy as np
import pytest

from retraining import UserError, bases, downloads
from retraining.cache import cache_file_name, parse_bottleneck
from retraining.lite import model_file

import standin
from conftest import (
  MODEL_ARCHIVE,
  ROOT,
  as_from_a_shell,
  assert_clean_failure,
  base_model_dir,
  closed_port_url,
  copy_shared,
  fill_disk,
  make_bad_photo_kinds,
  make_good_photo_kinds,
  make_photo_tree,
  read_only,
  retrain_args,
  run_script,
  shared_data,
  small_disk,
  tiny_graph_bytes,
)

PLAIN_TF1_LOADER = '''
import sys
import tensorflow as tf
with tf.io.gfile.GFile(sys.argv[1], 'rb') as f:
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(f.read())
    tf.compat.v1.import_graph_def(graph_def, name='')
with tf.compat.v1.Session() as sess:
    scores = sess.run('final_result:0',
                      {'DecodeJpeg/contents:0': open(sys.argv[2], 'rb').read()})
print(scores.shape[0], scores.shape[1], float(scores.sum()))
'''


def test_book_command_trains_and_writes_graph_and_labels(trained):
  work, result = trained
  out = result.stdout
  assert re.search(r'Step 0: Train accuracy = [\d.]+%', out)
  assert re.search(r'Step 0: Cross entropy = [\d.]+', out)
  assert re.search(r'Step 29: Validation accuracy = [\d.]+% \(N=100\)', out)
  assert re.search(r'Final test accuracy = [\d.]+% \(N=\d+\)', out)
  labels = (work / 'flowers_labels.txt').read_text(encoding='utf-8')
  assert labels == 'daisy\nroses\nsunflowers\ntulips\n'
  assert (work / 'flowers_graph.pb').stat().st_size > 0
  assert len(list((work / 'bottlenecks' / 'roses').glob('*.jpg.txt'))) == 25
  events = list((work / 'retrain_logs' / 'train').glob('events.out.tfevents.*'))
  assert events and events[0].stat().st_size < 5_000_000


def test_cache_files_have_the_original_format(trained):
  work, _ = trained
  text = (work / 'bottlenecks' / 'daisy' / 'daisy_00.jpg.txt').read_text()
  values = [float(v) for v in text.split(',')]
  assert len(values) == 2048 and '\n' not in text.strip()
  assert np.isfinite(values).all() and np.std(values) > 0


def test_output_graph_runs_in_fresh_process_with_plain_tf1(trained):
  work, _ = trained
  photo = work / 'flower_photos' / 'roses' / 'roses_03.jpg'
  result = subprocess.run(
      [sys.executable, '-c', PLAIN_TF1_LOADER, str(work / 'flowers_graph.pb'),
       str(photo)], capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  rows, columns, total = result.stdout.split()
  assert (rows, columns) == ('1', '4')
  assert abs(float(total) - 1) < 1e-4


def test_output_graph_takes_scaled_pixels_at_mul(trained):
  """The other way in, that Android apps and label_image use: [1, 299, 299,
  3] float32 (pixel - 128) / 128 at Mul:0, the photo resized by the graph's
  own ResizeBilinear, gives the scores of its JPEG bytes."""
  import tensorflow as tf
  work, _ = trained
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.import_graph_def(tf.compat.v1.GraphDef.FromString(
        (work / 'flowers_graph.pb').read_bytes()), name='')
  with tf.compat.v1.Session(graph=graph) as sess:
    for name in ('roses/roses_03.jpg', 'tulips/tulips_11.jpg'):
      jpeg = (work / 'flower_photos' / name).read_bytes()
      resized, expected = sess.run(['ResizeBilinear:0', 'final_result:0'],
                                   {'DecodeJpeg/contents:0': jpeg})
      scaled = (resized - 128) / 128
      assert scaled.shape == (1, 299, 299, 3) and scaled.dtype == np.float32
      got = sess.run('final_result:0', {'Mul:0': scaled})
      assert np.abs(got - expected).max() <= 1e-5, name


def test_output_graph_has_no_legacy_ops_and_keeps_tensor_names(trained):
  import tensorflow as tf
  work, _ = trained
  graph_def = tf.compat.v1.GraphDef.FromString(
      (work / 'flowers_graph.pb').read_bytes())
  ops = {n.op for n in graph_def.node}
  names = {n.name for n in graph_def.node}
  assert not ops & {'BatchNormWithGlobalNormalization', 'Concat',
                    'VariableV2', 'VarHandleOp'}
  assert not [op for op in ops if op.startswith('_')]  # No internal op.
  assert {'DecodeJpeg/contents', 'final_result', 'pool_3/_reshape'} <= names
  assert 'softmax' not in names  # The 1,008 ImageNet classes are dropped.
  # What fed the layer in training (the training set held in the graph) is
  # left out; the layer's input defaults to Inception's bottleneck.
  assert not [n for n in names if n.startswith(('training_set', 'train/'))]
  (layer_input,) = [n for n in graph_def.node
                    if n.name == 'input/BottleneckInputPlaceholder']
  assert layer_input.op == 'PlaceholderWithDefault'
  assert list(layer_input.input) == ['pool_3/_reshape']


@pytest.mark.slow
def test_second_run_reuses_cache_and_recomputes_broken_file(tmp_path, model_dir):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=6)
  args = retrain_args(tmp_path, photos, model_dir, 3,
                      '--testing_percentage=20', '--validation_percentage=20')
  first = run_script('retrain.py', *args)
  assert first.returncode == 0, first.stderr
  assert 'Creating 24 bottlenecks' in first.stdout
  cache = tmp_path / 'bottlenecks'
  files = sorted(cache.glob('*/*.txt'))
  stamps = {f: file_stamp(f) for f in files}
  broken = cache / 'roses' / 'roses_01.jpg.txt'
  good_text = broken.read_text()
  broken.write_text(good_text[:len(good_text) // 2])
  models = [tmp_path / 'flowers_graph.pb', tmp_path / 'flowers_graph.tflite']
  # Written in one clock tick: the .tflite's record, not its time, says
  # which graph it was converted from.
  os.utime(models[1], ns=(models[0].stat().st_mtime_ns,) * 2)
  model_stamps = [(file_stamp(f), f.read_bytes()) for f in models]

  second = run_script('retrain.py', *args)
  assert second.returncode == 0, second.stderr
  assert 'Creating 1 bottlenecks' in second.stdout
  # The same model again: neither the graph nor its .tflite is rewritten.
  assert [(file_stamp(f), f.read_bytes()) for f in models] == model_stamps
  assert 'flowers_graph.tflite is up to date' in second.stdout
  assert 'roses_01.jpg.txt is damaged' in second.stderr
  assert np.allclose(np.array(broken.read_text().split(','), float),
                     np.array(good_text.split(','), float), atol=1e-5)
  unchanged = [f for f in files if f != broken]
  assert all(file_stamp(f) == stamps[f] for f in unchanged)


def file_stamp(path):
  """What a write changes, even in the clock tick of the last: files are
  written to a new file renamed over the old, so it gets a new inode."""
  st = path.stat()
  return st.st_ino, st.st_size, st.st_mtime_ns


def defined_flags(script):
  """The names of the flags `script` defines (its flags.DEFINE_* calls),
  read from its source, so that a new flag is checked without a list."""
  tree = ast.parse(open(os.path.join(ROOT, script), encoding='utf-8').read())
  return [node.args[0].value for node in ast.walk(tree)
          if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
          and node.func.attr.startswith('DEFINE_')]


def test_help_lists_every_flag():
  names = defined_flags('retrain.py')
  assert len(names) > 20 and 'flowers_url' in names
  result = run_script('retrain.py', '--help')
  for flag in names:
    assert re.search(r'--(\[no\])?%s\b' % flag, result.stdout), flag


@pytest.mark.slow
def test_split_does_not_move_when_image_dir_is_spelled_differently(tmp_path, model_dir):
  """Also: flags take both spellings (--flag=value, --flag value, --noflag)."""
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=15)
  spellings = (['--how_many_training_steps=7', '--noflip_left_right'],
               ['--how_many_training_steps', '4', '--eval_step_interval', '2',
                '--print_misclassified_test_images=False'])
  outputs, steps = [], []
  for i, (image_dir, flags) in enumerate(zip(
      ('./photos', os.path.abspath(photos) + '/'), spellings)):
    work = tmp_path / ('run%d' % i)
    result = run_script('retrain.py', *retrain_args(work, image_dir, model_dir)[:-2],
                        *flags, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    outputs.append(re.search(r'Training on .*', result.stdout).group(0))
    steps.append([int(line.split()[3][:-1]) for line in result.stdout.splitlines()
                  if 'Train accuracy' in line])
  assert outputs[0] == outputs[1]
  # Evaluated every 10 steps (every 2 with --eval_step_interval 2) and last.
  assert steps == [[0, 6], [0, 2, 3]]
  assert 'MISCLASSIFIED' not in result.stdout


def test_korean_class_names_are_kept(tmp_path, model_dir):
  classes = {'장미': (200, 30, 40), '해바라기': (250, 170, 20), 'Tulip_Red': (200, 60, 200)}
  photos = make_photo_tree(str(tmp_path / 'photos'), classes, per_class=5)
  result = run_script('retrain.py', *retrain_args(tmp_path, photos, model_dir, 2),
                      '--nosave_charts', '--noexport_tflite')
  assert result.returncode == 0, result.stderr
  labels = (tmp_path / 'flowers_labels.txt').read_text(encoding='utf-8')
  assert labels == 'tulip red\n장미\n해바라기\n'
  assert (tmp_path / 'bottlenecks' / '장미' / '장미_00.jpg.txt').exists()
  # Progress in a log (stderr is a pipe here): plain lines, no redraws.
  progress = [line for line in result.stderr.splitlines() if line.startswith('Bottlenecks')]
  assert progress and '\r' not in result.stderr
  assert progress[-1].startswith('Bottlenecks: 100%') and '15/15' in progress[-1]
  assert not list(tmp_path.glob('*.png'))  # --nosave_charts
  assert not list(tmp_path.glob('*.tflite'))  # --noexport_tflite


def test_colliding_class_names_are_an_error(tmp_path, model_dir):
  classes = {'Red_Roses': (200, 30, 40), 'red roses': (200, 40, 40),
             'tulips': (200, 60, 200)}
  photos = make_photo_tree(str(tmp_path / 'photos'), classes, per_class=3)
  result = run_script('retrain.py', *retrain_args(tmp_path, photos, model_dir, 2))
  assert_clean_failure(result)
  assert "'Red_Roses'" in result.stderr and "'red roses'" in result.stderr
  assert not (tmp_path / 'flowers_graph.pb').exists()


def test_missing_image_dir_is_an_error(tmp_path, model_dir):
  """(One class only: see test_failed_run_keeps_the_previous_model.)"""
  result = run_script('retrain.py', *retrain_args(
      tmp_path, tmp_path / 'nowhere', model_dir, 2))
  assert_clean_failure(result)
  assert 'nowhere' in result.stderr


def test_charts_and_evaluation_report(trained):
  from PIL import Image
  work, result = trained
  for name in ('flowers_graph_training.png', 'flowers_graph_confusion.png'):
    pixels = np.asarray(Image.open(work / name).convert('L'), float)
    assert pixels.shape[0] > 300 and pixels.var() > 100, name
  n = int(re.search(r'Final test accuracy = [\d.]+% \(N=(\d+)\)',
                    result.stdout).group(1))
  total = re.search(r'^\s*total\s.*?(\d+)\s*$', result.stdout, re.M)
  assert total and int(total.group(1)) == n
  rows = [re.match(r'^\s*(daisy|roses|sunflowers|tulips)\s+\S+\s+\S+\s+(\d+)\s*$', line)
          for line in result.stdout.splitlines()]
  assert sum(int(m.group(2)) for m in rows if m) == n


def test_progress_is_a_bar_on_a_terminal(tmp_path, model_dir):
  """(In a log, plain lines: see test_korean_class_names_are_kept.)"""
  import pty
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=5)
  args = retrain_args(tmp_path, photos, model_dir, 1, '--nosave_charts')
  main, child = pty.openpty()
  process = subprocess.Popen(
      [sys.executable, os.path.join(ROOT, 'retrain.py')] + args,
      stdout=subprocess.DEVNULL, stderr=child, env=dict(os.environ, MPLBACKEND='Agg'))
  os.close(child)
  output = b''
  while True:
    try:
      chunk = os.read(main, 65536)
    except OSError:
      break
    if not chunk:
      break
    output += chunk
  process.wait()
  assert process.returncode == 0
  assert b'\rBottlenecks' in output and b'20/20' in output


def test_tensorboard_events_hold_the_upstream_summaries(trained):
  import tensorflow as tf
  work, _ = trained
  tags = {}
  for run in ('train', 'validation'):
    (event_file,) = (work / 'retrain_logs' / run).glob('events.out.tfevents.*')
    tags[run] = set()
    for event in tf.compat.v1.train.summary_iterator(str(event_file)):
      tags[run].update(v.tag for v in event.summary.value)
  assert {'accuracy_1', 'cross_entropy_1'} <= tags['validation'] or \
      {'accuracy', 'cross_entropy'} <= tags['validation']
  assert any('histogram' in t for t in tags['train'])
  assert any(t.startswith('accuracy') for t in tags['train'])


@pytest.mark.slow
def test_distortions_train_through_the_batched_body(tmp_path, model_dir):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=5)
  result = run_script('retrain.py', *retrain_args(
      tmp_path, photos, model_dir, 3, '--flip_left_right', '--random_crop=10',
      '--random_scale', '10', '--random_brightness=10', '--train_batch_size=8'))
  assert result.returncode == 0, result.stderr
  assert 'Step 2: Train accuracy' in result.stdout
  assert (tmp_path / 'flowers_graph.pb').exists()


# TensorFlow's two families of CPU kernels round differently, and it reads
# the variables choosing them when it is imported: the kill tests run both.
# Eigen's (oneDNN off: the default on CPUs without AVX-512 VNNI, BF16 or AMX)
# is capped at AVX2, as on most users' CPUs: on CPUs with AVX-512, it is the
# setting under which a photo's bottleneck used to change with its batch.
KERNELS = {'eigen_avx2': {'TF_ENABLE_ONEDNN_OPTS': '0', 'ONEDNN_MAX_CPU_ISA': 'AVX2'},
           'onednn': {'TF_ENABLE_ONEDNN_OPTS': '1'}}


PHOTOS_PER_CLASS = 100


@pytest.mark.slow
@pytest.mark.parametrize('base', [bases.DEFAULT, 'mobilenet_v3_small'])
def test_mixed_photo_kinds_train_and_bad_ones_are_skipped(
    tmp_path, model_dir, keras_model_dir, base):
  """Also: a class of fewer than 20 photos trains, with warnings; on the
  book's base and on a Keras one."""
  model_dir, architecture = base_model_dir(base, model_dir, keras_model_dir)
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=12)
  good = make_good_photo_kinds(str(tmp_path / 'photos' / 'roses'))
  bad = make_bad_photo_kinds(str(tmp_path / 'photos' / 'tulips'))
  # rare_00..04.jpg all hash into the training set at 10/10.
  make_photo_tree(photos, {'rare': (9, 9, 9)}, per_class=5)
  result = run_script('retrain.py', *retrain_args(tmp_path, photos, model_dir, 3,
                                                   architecture))
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
    cached = tmp_path / 'bottlenecks' / cache_file_name(
        'roses', os.path.basename(path), bases.BASES[base])
    assert parse_bottleneck(cached.read_text(),
                            bases.BASES[base].bottleneck_size) is not None, path


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


# retrain.py, sent a signal (-9, or Ctrl-C's) by itself as it is about to
# rename the count-th cache file it wrote into place: its temporary file is
# complete then, and the signal comes at the same point whatever the speed
# of the machine.
SIGNALLED_AT_A_CACHE_FILE = '''
import os, runpy, signal, sys, threading
script, cache, count = sys.argv[1], os.path.abspath(sys.argv[2]), int(sys.argv[3])
number = int(sys.argv[4])
real_replace, lock, written = os.replace, threading.Lock(), []
def replace(src, dst, **kwargs):
  dst = os.path.abspath(dst)
  if dst.endswith('.txt') and os.path.dirname(os.path.dirname(dst)) == cache:
    with lock:
      written.append(dst)
      if len(written) == count:
        os.kill(os.getpid(), number)
  return real_replace(src, dst, **kwargs)
os.replace = replace
sys.argv = [script] + sys.argv[5:]
sys.path[0] = os.path.dirname(script)
runpy.run_path(script, run_name='__main__')
'''


def kill_when_cached(args, cache, count, env, size=2048):
  """Runs retrain.py, killed (-9) as it writes its count-th cache file;
  returns how many cache files there are then, after checking each parses
  (as `size` values)."""
  before = len(list(cache.glob('*/*.txt')))
  result = subprocess.run(
      [sys.executable, '-c', SIGNALLED_AT_A_CACHE_FILE,
       os.path.join(ROOT, 'retrain.py'), str(cache), str(count),
       str(int(signal.SIGKILL))] + args,
      env=dict(os.environ, **env), capture_output=True, text=True,
      timeout=600)  # Only against a hang: machines differ.
  assert result.returncode == -signal.SIGKILL, (
      'not killed at its cache file %d: does retrain.py still write them with '
      'os.replace?\n%s' % (count, result.stderr[-2000:]))
  done = list(cache.glob('*/*.txt'))
  assert len(done) == before + count - 1
  assert [p for p in cache.rglob('*') if p.name.endswith('.tmp')]  # Unfinished.
  for path in done:
    assert parse_bottleneck(path.read_text(), size) is not None, path
  return len(done)


@pytest.mark.slow
# A Keras base's body runs on LiteRT, which TF_ENABLE_ONEDNN_OPTS does not
# reach: its decoding head under Eigen's kernels is the case left.
@pytest.mark.parametrize('kernels, base', [
    ('eigen_avx2', bases.DEFAULT), ('onednn', bases.DEFAULT),
    ('eigen_avx2', 'mobilenet_v3_small')])
def test_cold_resumed_and_warm_runs_give_the_same_model(
    tmp_path, model_dir, keras_model_dir, kernels, base):
  """The same photos, flags and seed give the same graph, byte for byte,
  whether the cache was cold, warm, or filled by runs killed at two points;
  on the book's base and on a Keras one."""
  env = KERNELS[kernels]
  model_dir, architecture = base_model_dir(base, model_dir, keras_model_dir)
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=PHOTOS_PER_CLASS)
  cold = tmp_path / 'cold'
  result = run_script('retrain.py', *retrain_args(cold, photos, model_dir, 20,
                                                   architecture), env=env)
  assert result.returncode == 0, result.stderr
  reference_graph = (cold / 'flowers_graph.pb').read_bytes()

  work = tmp_path / 'killed'
  args = retrain_args(work, photos, model_dir, 20, architecture)
  cache = work / 'bottlenecks'
  for count in (10, 150):
    done = kill_when_cached(args, cache, count, env,
                            bases.BASES[base].bottleneck_size)
  result = run_script('retrain.py', *args, env=env)
  assert result.returncode == 0, result.stderr
  created = int(re.search(r'Creating (\d+) bottlenecks', result.stdout).group(1))
  assert created == 4 * PHOTOS_PER_CLASS - done
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


@pytest.mark.slow
def test_ctrl_c_exits_with_one_line(model_dir, tmp_path):
  """Ctrl-C as the first cache file is written: one line, exit 1, and the
  cache keeps what was finished."""
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=PHOTOS_PER_CLASS)
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=PHOTOS_PER_CLASS)
  cache = tmp_path / 'bottlenecks'
  process = subprocess.run(
      [sys.executable, '-c', SIGNALLED_AT_A_CACHE_FILE,
       os.path.join(ROOT, 'retrain.py'), str(cache), '1', str(int(signal.SIGINT))] +
      retrain_args(tmp_path, photos, model_dir, 20),
      capture_output=True, text=True, preexec_fn=as_from_a_shell,
      timeout=600)  # Only against a hang: machines differ.
  assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-2000:]
  assert process.stderr.splitlines()[-1] == (
      'retrain.py: interrupted; the cache keeps what was finished, run again '
      'to resume')
  assert 'Traceback' not in process.stderr
  for path in cache.glob('*/*.txt'):
    assert parse_bottleneck(path.read_text(), 2048) is not None, path


@pytest.mark.slow
def test_model_is_downloaded_once_then_used_offline(tmp_path, server_url):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=5)
  model_dir = tmp_path / 'inception'
  args = retrain_args(tmp_path, photos, model_dir, 2)
  result = run_script('retrain.py', *args,
                      '--model_url=%s/%s' % (server_url, MODEL_ARCHIVE))
  assert result.returncode == 0, result.stderr
  assert 'Downloading ' + MODEL_ARCHIVE in result.stderr
  assert (model_dir / standin.GRAPH_FILE_NAME).exists()
  assert (model_dir / MODEL_ARCHIVE).exists()
  assert not [n for n in os.listdir(model_dir) if n.endswith('.tmp')]

  stamp = file_stamp(model_dir / standin.GRAPH_FILE_NAME)
  again = run_script('retrain.py', *args, '--model_url', closed_port_url())
  assert again.returncode == 0, again.stderr
  assert 'Downloading' not in again.stderr
  assert file_stamp(model_dir / standin.GRAPH_FILE_NAME) == stamp


def test_archive_already_present_is_extracted_without_network(tmp_path, served_dir):
  model_dir = tmp_path / 'inception'
  model_dir.mkdir()
  (model_dir / MODEL_ARCHIVE).write_bytes((served_dir / MODEL_ARCHIVE).read_bytes())
  graph_path = downloads.maybe_download_and_extract(str(model_dir), closed_port_url())
  assert open(graph_path, 'rb').read() == tiny_graph_bytes(served_dir / MODEL_ARCHIVE)


def test_offline_without_model_says_what_to_place_where(tmp_path):
  model_dir = tmp_path / 'inception'
  with pytest.raises(UserError) as error:
    downloads.maybe_download_and_extract(str(model_dir), closed_port_url())
  message = str(error.value)
  assert '\n' not in message
  assert standin.GRAPH_FILE_NAME in message and str(model_dir) in message
  assert 'Without internet' in message


def test_http_error_is_one_clear_line(tmp_path, server_url):
  with pytest.raises(UserError, match='HTTP 404') as error:
    downloads.maybe_download_and_extract(str(tmp_path / 'inception'),
                                     '%s/missing.tgz' % server_url)
  assert '\n' not in str(error.value)


def test_default_image_dir_downloads_the_flowers(tmp_path, served_dir,
                                                 server_url, model_dir):
  """The README's first command: no --image_dir, the photos are fetched."""
  source = tmp_path / 'source'
  make_photo_tree(str(source / 'flower_photos'), per_class=5)
  (source / 'flower_photos' / 'LICENSE.txt').write_text('CC-BY')
  with tarfile.open(served_dir / 'flower_photos.tgz', 'w:gz') as tar:
    tar.add(source / 'flower_photos', arcname='flower_photos')
  work = tmp_path / 'work'
  work.mkdir()
  result = run_script('retrain.py', '--how_many_training_steps=2',
                      '--model_dir', model_dir,
                      '--flowers_url=%s/flower_photos.tgz' % server_url,
                      cwd=str(work))
  assert result.returncode == 0, result.stderr
  workspace = work / 'workspace'
  assert len(list((workspace / 'flower_photos').glob('*/*.jpg'))) == 20
  assert (workspace / 'flowers_graph.pb').exists()
  assert (workspace / 'flowers_labels.txt').read_text().split() == [
      'daisy', 'roses', 'sunflowers', 'tulips']
  assert list((workspace / 'bottlenecks').glob('*/*.txt'))
  assert list((workspace / 'retrain_logs' / 'train').glob('events*'))


@pytest.mark.slow
def test_real_bottlenecks_train_to_the_expected_accuracy(tmp_path, model_dir):
  photos = shared_data('flower_photos')  # Only read.
  cache = copy_shared('inception_v3_bottlenecks', str(tmp_path))
  args = retrain_args(tmp_path, photos, model_dir, 1000)
  args[0] = '--bottleneck_dir=%s' % cache
  result = run_script('retrain.py', *args)
  assert result.returncode == 0, result.stderr
  assert 'Creating' not in result.stdout  # Every bottleneck is a cache hit.
  accuracy, n = re.search(r'Final test accuracy = ([\d.]+)% \(N=(\d+)\)',
                          result.stdout).groups()
  assert n == '359'
  assert float(accuracy) >= 84.5


# A careful user's bad day: two runs at once, twins, side outputs that
# cannot be written, odd files, outputs that cannot take the model.

def packed_labels(tflite_path):
  """The labels packed in the .tflite, after checking that its record names
  the graph beside it: the three files are one run's."""
  packed = model_file.packed_files(str(tflite_path))
  graph_path = str(tflite_path).replace('.tflite', '.pb')
  assert model_file.made_from(model_file.record(packed), graph_path)
  (labels,) = [data for name, data in packed.items() if name != model_file.RECORD_NAME]
  return labels.decode('utf-8').split()


@pytest.mark.slow
def test_two_runs_at_once_leave_one_runs_graph_labels_and_tflite(tmp_path,
                                                                 model_dir):
  """Two terminals' runs started at once on the same outputs, with other
  classes: one waits for the other, then writes all three of its own. The
  Korean run's report prints in a code page that has no Hangul."""
  trees = {'english': make_photo_tree(str(tmp_path / 'english'), per_class=10),
           'korean': make_photo_tree(str(tmp_path / 'korean'), {
               '장미': (200, 30, 40), '해바라기': (250, 170, 20),
               '튤립': (200, 60, 200)}, per_class=10)}
  runs = {name: subprocess.Popen(
      [sys.executable, os.path.join(ROOT, 'retrain.py')] +
      retrain_args(tmp_path, photos, model_dir, 200),
      env=dict(os.environ, MPLBACKEND='Agg', PYTHONIOENCODING='cp1252'),
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
      encoding='cp1252') for name, photos in trees.items()}
  outputs = {name: run.communicate(timeout=600) for name, run in runs.items()}
  for name, run in runs.items():
    assert run.returncode == 0, outputs[name][1]
    assert 'Traceback' not in outputs[name][1]
  waited = [name for name, (out, _) in outputs.items()
            if 'Another retrain.py is writing' in out]
  assert len(waited) == 1, outputs
  last = waited[0]
  labels = (tmp_path / 'flowers_labels.txt').read_text(encoding='utf-8').split()
  assert labels == sorted(os.listdir(trees[last]))
  assert packed_labels(tmp_path / 'flowers_graph.tflite') == labels
  assert '??' in outputs['korean'][0]  # Its report's Hangul, replaced.
  photo = os.path.join(trees[last], labels[0], labels[0] + '_00.jpg')
  result = run_script('predict.py', photo, '--noshow_image',
                      '--output_graph=%s' % (tmp_path / 'flowers_graph.pb'),
                      '--output_labels=%s' % (tmp_path / 'flowers_labels.txt'))
  assert result.returncode == 0, result.stderr
  assert result.stdout.split('\n')[1].startswith(labels[0] + ' (')


def copy_as_cp_r(source, dest):
  """`cp -r`: the copies are newer than the index beside them."""
  return shutil.copytree(source, dest, copy_function=shutil.copyfile)


@pytest.mark.slow
def test_side_outputs_that_cannot_be_written_never_cost_the_model(
    trained, tmp_path, model_dir):
  """A shared read-only cache (complete, its index stale), TensorBoard
  summaries on a full disk and a chart that cannot be saved: one warning
  each, and the model is written."""
  work, _ = trained
  cache = copy_as_cp_r(work / 'bottlenecks', tmp_path / 'bottlenecks')
  (tmp_path / 'flowers_graph_training.png').mkdir()  # Where the chart goes.
  logs = tmp_path / 'retrain_logs'
  with read_only(cache), small_disk(logs, '64k'):
    fill_disk(logs)
    result = run_script('retrain.py', *retrain_args(
        tmp_path, work / 'flower_photos', model_dir, 5))
  assert result.returncode == 0, result.stderr
  assert 'Traceback' not in result.stderr
  warnings = [line for line in result.stderr.splitlines()
              if line.startswith('WARNING:')]
  assert any('cannot write the cache index' in w for w in warnings), warnings
  assert any('cannot write TensorBoard summaries' in w for w in warnings), warnings
  assert any('cannot write the chart' in w for w in warnings), warnings
  for name in ('flowers_graph.pb', 'flowers_labels.txt', 'flowers_graph.tflite'):
    assert (tmp_path / name).stat().st_size, name


@pytest.mark.slow
def test_an_output_folder_full_or_read_only_keeps_the_model_it_had(
    trained, tmp_path, model_dir):
  work, _ = trained
  outputs = ('flowers_graph.pb', 'flowers_labels.txt', 'flowers_graph.tflite')
  photos = make_photo_tree(str(tmp_path / 'photos'), {
      'a': (9, 9, 9), 'b': (200, 200, 200)}, per_class=8)
  out = tmp_path / 'out'
  args = retrain_args(tmp_path, photos, model_dir, 3) + [
      '--output_graph=%s' % (out / outputs[0]),
      '--output_labels=%s' % (out / outputs[1]), '--nosave_charts']
  with small_disk(out, '%dk' % (sum(
      (work / name).stat().st_size for name in outputs) // 1024 + 512)):
    for name in outputs:
      shutil.copy(work / name, out / name)
    before = {name: (out / name).read_bytes() for name in outputs}
    fill_disk(out)
    full = run_script('retrain.py', *args)
    (out / 'filler').unlink()
    with read_only(out):
      locked_out = run_script('retrain.py', *args)
    after = {name: (out / name).read_bytes() for name in outputs}
    left = sorted(p.name for p in out.iterdir())
  assert_clean_failure(full)
  assert 'free space in its folder' in full.stderr.splitlines()[-1]
  assert_clean_failure(locked_out)
  assert 'cannot write in the folder of %s' % (out / outputs[0]) in (
      locked_out.stderr.splitlines()[-1])
  assert after == before
  assert left == sorted(outputs + ('.flowers_graph.pb.lock',))


def test_odd_files_among_the_photos_are_skipped_with_a_warning_each(
    tmp_path, model_dir):
  """A FIFO, a socket, a link loop, a link to nothing, a name that is not
  UTF-8, a name too long for its cache file, and twins: the run is not
  stopped (nor hung) by any, and says what it did with each."""
  photos = make_photo_tree(str(tmp_path / 'photos'), {
      'a': (9, 9, 9), 'b': (200, 200, 200)}, per_class=10)
  a = os.path.join(photos, 'a')
  os.mkfifo(os.path.join(a, 'fifo.jpg'))
  listener = socket.socket(socket.AF_UNIX)
  listener.bind(os.path.join(a, 'socket.jpg'))
  os.symlink('loop.jpg', os.path.join(a, 'loop.jpg'))
  os.symlink('gone.jpg', os.path.join(a, 'dangling.jpg'))
  shutil.copy(os.path.join(a, 'a_01.jpg'), os.fsencode(a) + b'/caf\xe9.jpg')
  long_name = 'x' * 250 + '.jpg'  # 254 bytes: its cache name would be 258.
  shutil.copy(os.path.join(a, 'a_02.jpg'), os.path.join(a, long_name))
  shutil.copy(os.path.join(a, 'a_03.jpg'), os.path.join(a, 'a_03.JPG'))
  for form in ('NFC', 'NFD'):
    shutil.copy(os.path.join(a, 'a_04.jpg'),
                os.path.join(a, unicodedata.normalize(form, '장미.jpg')))
  try:
    result = run_script('retrain.py', *retrain_args(tmp_path, photos, model_dir, 3),
                        '--nosave_charts', '--noexport_tflite', timeout=300)
  finally:
    listener.close()
  assert result.returncode == 0, result.stderr
  assert 'Traceback' not in result.stderr
  warnings = '\n'.join(line for line in result.stderr.splitlines()
                       if line.startswith('WARNING:'))
  for name in ('fifo.jpg', 'socket.jpg', 'dangling.jpg'):
    assert 'skipped %s: not a regular file' % os.path.join(a, name) in warnings
  assert 'skipped %s: cannot read it' % os.path.join(a, 'loop.jpg') in warnings
  assert "caf\\xe9.jpg: its name is not UTF-8 text" in warnings
  assert 'the name of %s is too long for its cache file' % os.path.join(
      a, long_name) in warnings
  assert '2 photos have a twin' in warnings
  assert 'a_03.JPG (twin of a_03.jpg)' in warnings
  assert 'have the same content' in warnings and 'a_03.JPG' in warnings
  cached = sorted(p.name for p in (tmp_path / 'bottlenecks' / 'a').iterdir())
  twins = [n for n in cached if n.lower().startswith('a_03.')]
  assert len({n.lower() for n in twins}) == 2, twins  # Apart on any disk.
  assert (tmp_path / 'flowers_graph.pb').exists()


def test_output_graph_naming_a_folder_is_one_line(tmp_path, model_dir):
  (tmp_path / 'flowers_graph.pb').mkdir()
  result = run_script('retrain.py', *retrain_args(tmp_path, tmp_path, model_dir))
  assert_clean_failure(result)
  assert result.stderr.splitlines()[-1] == (
      'retrain.py: error: --output_graph=%s is a folder: give the path of a '
      'file (in it, say)' % (tmp_path / 'flowers_graph.pb'))


def test_int8_phone_model_is_small_checked_and_opens_in_mediapipe(int8_trained):
  """--tflite_quantize=int8: at most 0.3 times the float model's size; the
  check's table printed; the same top label as the float model on 95% of
  the test photos or the warning; and MediaPipe's ImageClassifier runs it."""
  work, result = int8_trained
  model = work / 'flowers_graph.tflite'
  assert model.stat().st_size <= 0.3 * (work / 'float.tflite').stat().st_size
  out = result.stdout
  n = int(re.search(r'Final test accuracy = [\d.]+% \(N=(\d+)\)', out).group(1))
  assert 'The int8 model against the float32 model on the test set' in out
  changed = re.search(r'^Top label changed on (\d+) of (\d+) test photos', out, re.M)
  assert changed and int(changed.group(2)) == n
  # It passed its check: it is the phone model, with nothing beside it.
  assert 'WARNING: the int8 model' not in result.stderr, result.stderr
  assert not (work / 'flowers_graph_int8.tflite').exists()
  assert int(changed.group(1)) <= 0.05 * n, out
  mp = pytest.importorskip('mediapipe')
  from mediapipe.tasks.python import BaseOptions, vision
  options = vision.ImageClassifierOptions(
      base_options=BaseOptions(model_asset_path=str(model)), max_results=1)
  with vision.ImageClassifier.create_from_options(options) as classifier:
    result = classifier.classify(mp.Image.create_from_file(
        str(work / 'flower_photos' / 'roses' / 'roses_00.jpg')))
  assert result.classifications[0].categories[0].category_name == 'roses'


def test_a_quantized_model_that_cannot_be_checked_is_not_the_phone_model(
    tmp_path, model_dir):
  """No test set: one warning, the float model at the phone model's place,
  the dynamic one beside it."""
  photos = make_photo_tree(str(tmp_path / 'flower_photos'), per_class=8)
  result = run_script('retrain.py', *retrain_args(
      tmp_path, photos, model_dir, 5, '--testing_percentage=0',
      '--tflite_quantize=dynamic'))
  assert result.returncode == 0, result.stderr
  model, aside = (tmp_path / 'flowers_graph.tflite',
                  tmp_path / 'flowers_graph_dynamic.tflite')
  assert [line for line in result.stderr.splitlines()
          if line.startswith('WARNING: the dynamic')] == [
      'WARNING: the dynamic model could not be checked (no photo in the test '
      'set: raise --testing_percentage), so the phone model %s is the float32 '
      'model; the dynamic one is kept beside it as %s' % (model, aside)]
  assert aside.stat().st_size < 0.5 * model.stat().st_size


def test_float16_and_another_quantization_are_an_error(tmp_path, model_dir):
  result = run_script('retrain.py', *retrain_args(
      tmp_path, tmp_path / 'photos', model_dir, 5, '--tflite_float16',
      '--tflite_quantize=int8'))
  assert result.returncode != 0 and 'Traceback' not in result.stderr
  assert ('--tflite_float16 means --tflite_quantize=float16: give one of the '
          'two') in result.stderr
