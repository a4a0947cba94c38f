"""Shared fixtures: a stand-in model served over loopback HTTP, photo trees,
and running the scripts as a user would."""

import contextlib
import functools
import http.server
import importlib
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # The `retraining` package, for unit tests.

import keras_weights

from retraining import bases, downloads
from retraining.graph import rewrite
from retraining.graph import runner as graph_runner
from retraining.graph.tensorflow_v1 import tf, tf1
from retraining.lite import model_file
from retraining.machine import cpu_cores

import standin

SHARED_DATA = os.path.join(os.path.dirname(ROOT), 'shared', 'data')
MODEL_ARCHIVE = 'inception-2015-12-05.tgz'
COLORS = {'daisy': (230, 230, 60), 'roses': (200, 30, 40),
          'tulips': (200, 60, 200), 'sunflowers': (250, 170, 20)}


# Memory to allow each pytest-xdist worker: its own process and the script
# it runs, each with TensorFlow and a graph loaded.
WORKER_MEMORY_BYTES = 3 << 30


def pytest_xdist_auto_num_workers(config):
  """`-n auto`: one worker per core this process may run on (xdist's own
  count ignores affinity), fewer where memory is short."""
  try:
    memory = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
  except (AttributeError, ValueError, OSError):  # Not on Linux or macOS.
    return cpu_cores()
  return max(1, min(cpu_cores(), memory // WORKER_MEMORY_BYTES))


def closed_port_url():
  """A loopback URL nothing listens on: any download from it fails."""
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  return 'http://127.0.0.1:%d/%s' % (port, MODEL_ARCHIVE)


def tiny_graph_bytes(archive):
  with tarfile.open(archive) as tar:
    return tar.extractfile(standin.GRAPH_FILE_NAME).read()


def run_script(script, *args, cwd=None, env=None, timeout=300):
  """Runs retrain.py or predict.py in a subprocess, headless, like a user."""
  full_env = dict(os.environ, MPLBACKEND='Agg', PYTHONUNBUFFERED='1')
  full_env.pop('DISPLAY', None)
  full_env.update(env or {})
  return subprocess.run(
      [sys.executable, os.path.join(ROOT, script)] + [str(a) for a in args],
      cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def as_from_a_shell():
  """In the child: Ctrl-C's signal handled by default and not blocked, as a
  shell starts a command (a test runner's process may have changed both,
  and a child inherits them: under coverage the run then went on to the
  end)."""
  signal.signal(signal.SIGINT, signal.SIG_DFL)
  signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])


def assert_clean_failure(result):
  """A user error: non-zero exit, a message, and no traceback."""
  assert result.returncode != 0, result.stdout + result.stderr
  assert 'Traceback' not in result.stderr, result.stderr
  assert 'error:' in result.stderr


def make_photo(path, color, seed, size=(64, 48)):
  rng = np.random.RandomState(seed)
  pixels = np.array(color) + rng.randn(size[1], size[0], 3) * 40
  image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
  os.makedirs(os.path.dirname(path), exist_ok=True)
  image.save(path)
  return path


def make_photo_tree(root, classes=COLORS, per_class=25):
  """root/<class>/<class>_NN.jpg: noisy photos of one colour per class."""
  for index, (name, color) in enumerate(sorted(classes.items())):
    for i in range(per_class):
      make_photo(os.path.join(root, name, '%s_%02d.jpg' % (name, i)), color,
                 seed=100 * index + i)
  return root


@pytest.fixture(scope='session')
def tiny_graph_def():
  return standin.tiny_graph_def()


@pytest.fixture(scope='session')
def served_dir(tmp_path_factory, tiny_graph_def):
  """A folder served over loopback HTTP holding the stand-in model archive."""
  folder = tmp_path_factory.mktemp('served')
  standin.write_model_archive(tiny_graph_def, str(folder / MODEL_ARCHIVE))
  return folder


@contextlib.contextmanager
def serve_folder(folder):
  """Serves `folder` over loopback HTTP; yields its base URL."""
  handler = functools.partial(QuietHandler, directory=str(folder))
  server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  try:
    yield 'http://127.0.0.1:%d' % server.server_address[1]
  finally:
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):

  def log_message(self, *args):
    pass


@pytest.fixture(scope='session')
def server_url(served_dir):
  with serve_folder(served_dir) as url:
    yield url


@pytest.fixture(scope='session')
def model_dir(tmp_path_factory, tiny_graph_def):
  """A model folder with the tiny stand-in already extracted."""
  folder = tmp_path_factory.mktemp('inception')
  with open(folder / standin.GRAPH_FILE_NAME, 'wb') as f:
    f.write(tiny_graph_def.SerializeToString())
  return folder


@pytest.fixture(scope='session')
def keras_model_dir(tmp_path_factory):
  """keras_model_dir(base name): a model folder holding the weights file of
  that Keras base (made by keras_weights.py) and its graph, frozen from
  them as retrain.py freezes it; one per base and session."""
  made = {}

  def model_dir(name):
    if name not in made:
      folder = tmp_path_factory.mktemp(name)
      keras_weights.write_weights(bases.BASES[name], str(folder))
      downloads.maybe_download_base(bases.BASES[name], str(folder),
                                    closed_port_url())
      made[name] = folder
    return made[name]
  return model_dir


def base_model_dir(name, model_dir, keras_model_dir):
  """(--model_dir, --architecture flag) for the base `name`: the stand-in
  Inception, or a Keras base with the tests' weights."""
  if name == bases.DEFAULT:
    return model_dir, '--architecture=%s' % name
  return keras_model_dir(name), '--architecture=%s' % name


@pytest.fixture(scope='session')
def wide_model_dir(tmp_path_factory):
  """A model folder with the stand-in four times as wide: its weights, as
  the real graph's, outweigh what int8 quantization adds per channel."""
  folder = tmp_path_factory.mktemp('wide_inception')
  with open(folder / standin.GRAPH_FILE_NAME, 'wb') as f:
    f.write(standin.tiny_graph_def(width=4).SerializeToString())
  return folder


def float_then_int8(work, model_dir, *flags):
  """retrain.py on a photo tree in `work`, first as it is (its float
  .tflite copied to float.tflite), then again with --tflite_quantize=int8
  (the same graph: the cache and the seed are the same): (work, the second
  run's result)."""
  photos = make_photo_tree(str(work / 'flower_photos'))
  args = retrain_args(work, photos, model_dir, 30, *flags)
  for extra in ([], ['--tflite_quantize=int8']):
    result = run_script('retrain.py', *args, *extra)
    assert result.returncode == 0, result.stderr
    if not extra:
      shutil.copy(work / 'flowers_graph.tflite', work / 'float.tflite')
  return work, result


@pytest.fixture(scope='session')
def int8_trained(tmp_path_factory, wide_model_dir):
  """float_then_int8 with the wide stand-in: (work folder, the second run's
  result)."""
  return float_then_int8(tmp_path_factory.mktemp('int8_trained'), wide_model_dir)


@pytest.fixture(scope='session')
def large_int8_trained(tmp_path_factory, keras_model_dir):
  """float_then_int8 with --architecture=mobilenet_v3_large (the tests'
  weights): (work folder, the second run's result)."""
  return float_then_int8(tmp_path_factory.mktemp('large_int8_trained'),
                         keras_model_dir('mobilenet_v3_large'),
                         '--architecture=mobilenet_v3_large')


def int8_model(work, result):
  """The int8 .tflite of a --tflite_quantize=int8 run in `work`: the phone
  model where it passed its check, else the one kept beside it (the run's
  warning says which)."""
  phone = work / 'flowers_graph.tflite'
  if 'WARNING: the int8 model' in result.stderr:
    return work / os.path.basename(model_file.kept_aside(str(phone), 'int8'))
  return phone


def retrain_args(work, image_dir, model_dir, steps=20, *extra):
  """The book's command line, pointed at a test folder."""
  return ['--bottleneck_dir=%s' % (work / 'bottlenecks'),
          '--model_dir=%s' % model_dir,
          '--output_graph=%s' % (work / 'flowers_graph.pb'),
          '--output_labels=%s' % (work / 'flowers_labels.txt'),
          '--summaries_dir=%s' % (work / 'retrain_logs'),
          '--image_dir=%s' % image_dir,
          '--how_many_training_steps', str(steps)] + list(extra)


@pytest.fixture(scope='session')
def trained(tmp_path_factory, model_dir):
  """One retrain.py run on a generated photo tree: (work folder, result)."""
  work = tmp_path_factory.mktemp('trained')
  photos = make_photo_tree(str(work / 'flower_photos'))
  result = run_script('retrain.py', *retrain_args(work, photos, model_dir, 30))
  assert result.returncode == 0, result.stderr
  return work, result


def shared_data(name):
  """Path of a folder of ../shared/data, or skip the test without it."""
  path = os.path.join(SHARED_DATA, name)
  if not os.path.isdir(path):
    pytest.skip('%s is not here (../shared/data is optional)' % path)
  return path


def copy_shared(name, dest):
  return shutil.copytree(shared_data(name), os.path.join(dest, name))


def _png_header_only(path, width, height):
  """A PNG that declares width x height pixels and holds none of them."""
  import struct
  import zlib

  def chunk(kind, data):
    return (struct.pack('>I', len(data)) + kind + data +
            struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
  with open(path, 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\n' +
            chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)) +
            chunk(b'IEND', b''))


def make_good_photo_kinds(folder, color=(200, 30, 40)):
  """One photo of each kind a user plausibly has; returns {kind: path}."""
  os.makedirs(folder, exist_ok=True)
  rng = np.random.RandomState(7)
  rgb = Image.fromarray((np.array(color) + rng.randn(60, 80, 3) * 30)
                        .clip(0, 255).astype(np.uint8))
  paths = {}

  def save(kind, image, name, **kwargs):
    paths[kind] = os.path.join(folder, name)
    image.save(paths[kind], **kwargs)
  save('jpeg', rgb, 'baseline.jpg')
  save('progressive', rgb, 'progressive.JPG', progressive=True)
  save('grayscale', rgb.convert('L'), 'grey.jpeg')
  save('cmyk', rgb.convert('CMYK'), 'cmyk.jpg')
  exif = Image.Exif()
  exif[0x0112] = 6  # Rotated: the viewer turns it 90 degrees.
  save('exif_rotated', rgb, 'rotated.jpg', exif=exif.tobytes())
  save('png', rgb, 'plain.png')
  save('png_rgba', rgb.convert('RGBA'), 'alpha.png')
  save('png_palette', rgb.convert('P'), 'palette.png')
  save('png_16bit', Image.fromarray(
      (np.asarray(rgb.convert('L'), np.uint16) * 257)), 'sixteen.png')
  save('png_grey', rgb.convert('L'), 'grey.png')
  save('gif', rgb.convert('P'), 'anim.gif')
  save('bmp', rgb, 'bitmap.bmp')
  save('webp', rgb, 'photo.webp')
  save('png_named_jpg', rgb, 'really_a_png.jpg', format='PNG')
  return paths


def make_bad_photo_kinds(folder):
  """One file of each kind that cannot be used as a photo; {kind: path}."""
  os.makedirs(folder, exist_ok=True)
  good = make_photo(os.path.join(folder, 'whole.jpg'), (10, 20, 30), 1,
                    size=(120, 90))
  data = open(good, 'rb').read()
  os.remove(good)
  paths = {kind: os.path.join(folder, name) for kind, name in (
      ('truncated', 'truncated.jpg'), ('empty', 'empty.jpg'),
      ('text', 'notes.jpg'), ('bomb', 'bomb.png'))}
  with open(paths['truncated'], 'wb') as f:
    f.write(data[:len(data) // 2])
  open(paths['empty'], 'wb').close()
  with open(paths['text'], 'w') as f:
    f.write('not a photo\n')
  _png_header_only(paths['bomb'], 40000, 40000)
  return paths


def fast_bottlenecks(graph_def, paths, feed_weights=None):
  """Bottlenecks retrain.py's way: the runner's pipeline on the rewritten graph."""
  with graph_runner.photo_outputs(rewrite.fast_graph_def(graph_def), paths,
                                  bases.INCEPTION_V3.bottleneck_tensor,
                                  feed_weights) as outputs:
    outcomes = list(outputs)
  assert [path for path, _, _ in outcomes] == list(paths)
  assert not [failure for _, _, failure in outcomes if failure]
  return np.stack([output for _, output, _ in outcomes])


@pytest.fixture(scope='session')
def parity_photos(tmp_path_factory):
  folder = tmp_path_factory.mktemp('parity')
  return [make_photo(str(folder / ('%d.jpg' % i)), (40 * i, 200 - 30 * i, 90),
                     seed=i, size=(120 + 37 * i, 90 + 11 * i)) for i in range(6)]


@pytest.fixture(scope='session')
def frozen_graph_def(trained):
  work, _ = trained
  return rewrite.read_graph_def(str(work / 'flowers_graph.pb'))


@pytest.fixture(scope='session')
def trained_tflite(trained):
  """The .tflite retrain.py wrote beside the frozen graph."""
  work, _ = trained
  return str(work / 'flowers_graph.tflite')


@pytest.fixture(scope='session')
def frozen_session(frozen_graph_def):
  graph = tf.Graph()
  with graph.as_default():
    tf1.import_graph_def(frozen_graph_def, name='')
  sess = tf1.Session(graph=graph)  # Not `with`: that would make its graph
  yield sess                       # the default one for other tests too.
  sess.close()


def mount_or_skip(*command):
  """Runs mount(8); skips the test where this process may not mount."""
  if not shutil.which('mount') or os.geteuid() != 0:
    pytest.skip('mounting needs root')
  result = subprocess.run(['mount'] + list(command), capture_output=True,
                          text=True)
  if result.returncode:
    pytest.skip('cannot mount here: %s' % result.stderr.strip())


@contextlib.contextmanager
def small_disk(folder, size='256k'):
  """A tmpfs of `size` at `folder` (made if missing): a disk that fills up."""
  os.makedirs(folder, exist_ok=True)
  mount_or_skip('-t', 'tmpfs', '-o', 'size=%s' % size, 'tmpfs', str(folder))
  try:
    yield folder
  finally:
    subprocess.run(['umount', '-l', str(folder)], check=True)


def fill_disk(folder):
  """Fills the disk of `folder` (a small_disk) to its last block."""
  with open(os.path.join(folder, 'filler'), 'wb', buffering=0) as f:
    with contextlib.suppress(OSError):
      while True:
        f.write(b'\0' * 4096)


@contextlib.contextmanager
def read_only(folder):
  """`folder` bound read-only onto itself: writes in it fail with EROFS,
  even for root."""
  mount_or_skip('--bind', str(folder), str(folder))
  try:
    subprocess.run(['mount', '-o', 'remount,bind,ro', str(folder)], check=True)
    yield folder
  finally:
    subprocess.run(['umount', '-l', str(folder)], check=True)


def import_beam_module(name):
  """The module `name` (retraining.beam's or Beam's), imported with Python's
  root log handlers kept as they were: Beam's import adds one, which would
  change what later tests' captured output holds. Skips the test where
  Beam is not installed."""
  if importlib.util.find_spec('apache_beam') is None:
    pytest.skip('Apache Beam is not installed (pip install -r requirements-beam.txt)')
  handlers, level = logging.root.handlers[:], logging.root.level
  try:
    return importlib.import_module(name)
  finally:
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)
