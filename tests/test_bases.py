"""--architecture: each Keras base is its real architecture (weights made by
keras_weights.py), frozen into the graph form every part runs, and used
through the same commands and files as the book's Inception v3."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import keras_weights
import numpy as np
import pytest

from retraining import UserError, bases, cache, downloads
from retraining.graph import distortions, lite_body
from retraining.graph import runner as graph_runner
from retraining.graph.tensorflow_v1 import tf, tf1
from retraining.lite import metadata as tflite_metadata
from retraining.lite import model_file, quantization

from conftest import (
  ROOT,
  assert_clean_failure,
  closed_port_url,
  int8_model,
  make_photo,
  make_photo_tree,
  retrain_args,
  run_script,
  serve_folder,
)

KERAS_BASES = sorted(name for name, base in bases.BASES.items() if base.keras)
# MediaPipe against LiteRT, on the same pixels: float32 computations
# (float16 weights are made float32 on loading) round alike; quantized ones
# are each runtime's own kernels, a step of int8's scores (1/256) apart or
# two on the small MobileNets. (On the large one's int8 model, with the
# tests' random weights, the rounding grows layer by layer: LiteRT's own
# two kernel sets disagree by up to 0.45 on a photo, so there MediaPipe is
# shown to run the int8 model, not to match.)
LITERT_TOLERANCE = {'none': 1e-6, 'float16': 1e-6, 'dynamic': 2 / 256,
                    'int8': 2 / 256}
# --tflite_quantize on a Keras base: every mode on the small MobileNet
# (Inception's are in test_retrain.py and test_lite_quantization.py,
# mobilenet_v3_large's int8 in test_int8_on_the_large_mobilenet...).
QUANTIZED_RUNS = [('mobilenet_v3_small', mode) for mode in quantization.MODES]
# What each mode's model holds besides float32 tensors.
MODE_DTYPES = {'none': None, 'float16': np.float16, 'dynamic': np.int8,
               'int8': np.int8}


@pytest.mark.slow
@pytest.mark.parametrize('name', KERAS_BASES)
def test_each_keras_base_freezes_into_the_form_every_part_runs(tmp_path, name):
  """Downloaded from a mirror (trusted), frozen with the 2015 graph's head
  and names, its bottleneck the size its entry says; frozen again from the
  same weights, the same bytes."""
  base = bases.BASES[name]
  served = tmp_path / 'served'
  keras_weights.write_weights(base, str(served))
  graphs = []
  with serve_folder(served) as url:
    for run in ('a', 'b'):
      path = downloads.maybe_download_base(
          base, str(tmp_path / run), '%s/%s' % (url, base.keras.weights_file))
      assert path == str(tmp_path / run / base.graph_file)
      graphs.append(open(path, 'rb').read())
  assert graphs[0] == graphs[1]
  graph_def = graph_runner.read_graph(path, base)
  nodes = {node.name: node for node in graph_def.node}
  for name in ('DecodeJpeg/contents', 'DecodeJpeg', 'ResizeBilinear',
               bases.BATCH_INPUT_NODE, 'Sub', 'Mul', base.bottleneck_node):
    assert name in nodes, name
  graph = tf.Graph()
  with graph.as_default():
    tf1.import_graph_def(graph_def, name='')
  assert graph.get_tensor_by_name('Mul:0').shape.as_list() == [
      None, base.input_size, base.input_size, 3]
  assert graph.get_tensor_by_name(base.bottleneck_tensor).shape.as_list() == [
      None, base.bottleneck_size]
  photos = [make_photo(str(tmp_path / ('%d.jpg' % i)), (60 * i, 90, 200), seed=i)
            for i in range(3)]
  values = {}
  for engine, body in (('litert', graph_runner.body_opener(base)),
                       ('tensorflow', graph_runner.open_body)):
    with graph_runner.photo_outputs(graph_def, photos, base.bottleneck_tensor,
                                    body=body) as outputs:
      values[engine] = np.stack([value for _, value, _ in outputs])
  assert graph_runner.body_opener(base) is lite_body.open_body
  # The graph carries its body converted, as it would be converted now.
  carried = lite_body.carried_body(graph_def, base.bottleneck_tensor)
  assert carried == lite_body.converted_body(graph_def, base.bottleneck_tensor)
  assert values['litert'].shape == (3, base.bottleneck_size)
  assert not np.array_equal(values['litert'][0], values['litert'][1])
  # The cache's bottlenecks (LiteRT) are the exported graph's (TensorFlow)
  # but for rounding (XNNPACK's swish and sigmoid are approximations: the
  # deepest base, EfficientNetV2, drifts most, by about 2e-4 of the scale).
  scale = np.abs(values['tensorflow']).max()
  assert np.abs(values['litert'] - values['tensorflow']).max() <= 1e-3 * scale


@pytest.mark.slow
def test_distortions_run_on_a_keras_base(tmp_path, keras_model_dir):
  base = bases.BASES['mobilenet_v3_small']
  graph_def = graph_runner.read_graph(
      str(keras_model_dir(base.name) / base.graph_file), base)
  photos = [make_photo(str(tmp_path / ('%d.jpg' % i)), (60 * i, 90, 200), seed=i,
                       size=(300, 200)) for i in range(2)]
  every = distortions.Distortions(True, 10, 10, 10)
  with distortions.distorted_bottlenecks(graph_def, base, 0, every) as distorted:
    first, again = distorted(photos), distorted(photos)
  assert first.shape == (2, base.bottleneck_size)
  assert not np.array_equal(first, again)  # Fresh copies each step.


@pytest.mark.slow
def test_a_wrong_digest_from_the_default_address_is_refused(tmp_path):
  """The digest is checked where the address is Keras' own; a mirror is
  trusted. (Keras' address cannot be served here, so the entry is pointed
  at a loopback server for this test.)"""
  base = bases.BASES['mobilenet_v3_small']
  served = tmp_path / 'served'
  path = keras_weights.write_weights(base, str(served))
  with serve_folder(served) as url:
    published = base.keras._replace(url=url + '/')
    own_address = url + '/' + base.keras.weights_file
    with pytest.raises(UserError, match='expected md5 %s' % base.keras.md5):
      downloads.maybe_download_weights(published, str(tmp_path / 'm'), own_address)
    assert not os.listdir(tmp_path / 'm')  # Nothing half-written is kept.
    real = published._replace(md5=hashlib.md5(open(path, 'rb').read()).hexdigest())
    got = downloads.maybe_download_weights(real, str(tmp_path / 'm'), own_address)
    assert open(got, 'rb').read() == open(path, 'rb').read()
    mirrored = downloads.maybe_download_weights(published, str(tmp_path / 'n'),
                                                own_address + '?mirror')
    assert open(mirrored, 'rb').read() == open(path, 'rb').read()


def test_offline_it_says_which_file_to_fetch_and_where(tmp_path):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=2)
  model_dir = tmp_path / 'model'
  result = run_script('retrain.py', *retrain_args(
      tmp_path, photos, model_dir, 2, '--architecture=mobilenet_v3_large',
      '--model_url=' + closed_port_url()))
  assert_clean_failure(result)
  keras = bases.BASES['mobilenet_v3_large'].keras
  assert 'download %s%s on another machine and put it in %s' % (
      keras.url, keras.weights_file, model_dir) in result.stderr


@pytest.mark.slow
def test_a_weights_file_of_another_base_is_one_clear_line(tmp_path):
  """A file that is not the base's weights (here, another base's) is
  refused naming it, and no graph is left behind."""
  model_dir = tmp_path / 'model'
  wrong = keras_weights.write_weights(bases.BASES['mobilenet_v3_small'],
                                      str(tmp_path / 'small'))
  large = bases.BASES['mobilenet_v3_large']
  model_dir.mkdir()
  shutil.copy(wrong, model_dir / large.keras.weights_file)
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=2)
  result = run_script('retrain.py', *retrain_args(
      tmp_path, photos, model_dir, 2, '--architecture=mobilenet_v3_large',
      '--model_url=' + closed_port_url()))
  assert_clean_failure(result)
  assert 'is not the weights file of %s' % large.title in result.stderr
  assert str(model_dir / large.keras.weights_file) in result.stderr
  assert not (model_dir / large.graph_file).exists()


@pytest.fixture(scope='module')
def large_model(tmp_path_factory):
  """retrain.py --architecture=mobilenet_v3_large, its weights downloaded
  from a loopback server: (work folder, its stdout)."""
  work = tmp_path_factory.mktemp('large')
  base = bases.BASES['mobilenet_v3_large']
  keras_weights.write_weights(base, str(work / 'served'))
  photos = make_photo_tree(str(work / 'flower_photos'), per_class=12)
  with serve_folder(work / 'served') as url:
    result = run_script('retrain.py', *retrain_args(
        work, photos, work / 'model', 60, '--architecture=mobilenet_v3_large',
        '--model_url=%s/%s' % (url, base.keras.weights_file)))
  assert result.returncode == 0, result.stderr
  return work, result.stdout


@pytest.mark.slow
def test_the_large_mobilenet_writes_the_books_files(large_model):
  work, out = large_model
  base = bases.BASES['mobilenet_v3_large']
  assert 'Freezing %s' % base.title in out
  for name in ('flowers_graph.pb', 'flowers_labels.txt', 'flowers_graph.tflite',
               'flowers_graph_training.png', 'flowers_graph_confusion.png'):
    assert (work / name).exists(), name
  names = sorted(os.listdir(work / 'bottlenecks' / 'daisy'))
  assert names and all(n.endswith('.jpg_mobilenet_v3_large.txt') for n in names)
  assert (work / 'bottlenecks' / '.bottleneck_index_mobilenet_v3_large.npz').exists()
  model = (work / 'flowers_graph.tflite').read_bytes()
  metadata = model_file.read_metadata(model)
  assert model_file.normalization(metadata) == (127.5, 127.5)
  assert b'MobileNetV3-Large' in metadata
  record = json.loads(model_file.packed_files(str(work / 'flowers_graph.tflite'))[
      model_file.RECORD_NAME])
  assert record['weights'] == 'float32'


def top_labels(csv_text):
  """{photo file name: top label} of predict.py's --output_csv."""
  rows = [line.split(',') for line in csv_text.splitlines()[1:]]
  return {os.path.basename(row[0]): row[1] for row in rows}


@pytest.mark.slow
def test_predict_and_mediapipe_agree_on_the_large_mobilenet(large_model):
  """predict.py with LiteRT and with TensorFlow, and MediaPipe's own
  ImageClassifier on the graph's own pixels, give the same top label."""
  work, _ = large_model
  photos = sorted(str(p) for p in (work / 'flower_photos').glob('*/*.jpg'))[::7]
  tops = {}
  for runtime in ('litert', 'tensorflow'):
    csv = work / ('%s.csv' % runtime)
    result = run_script('predict.py', *photos, '--output_graph=%s' % (
        work / 'flowers_graph.pb'), '--output_labels=%s' % (
            work / 'flowers_labels.txt'), '--noshow_image',
                        '--runtime=%s' % runtime, '--output_csv=%s' % csv)
    assert result.returncode == 0, result.stderr
    tops[runtime] = top_labels(csv.read_text(encoding='utf-8'))
  assert tops['litert'] == tops['tensorflow'] and len(tops['litert']) == len(photos)
  assert len(set(tops['litert'].values())) > 1  # Not one label for all.

  mp = pytest.importorskip('mediapipe')
  from mediapipe.tasks.python import BaseOptions, vision
  graph_def = graph_runner.read_graph(str(work / 'flowers_graph.pb'))
  options = vision.ImageClassifierOptions(base_options=BaseOptions(
      model_asset_path=str(work / 'flowers_graph.tflite')), max_results=1)
  with graph_runner.session_on(graph_def) as sess, \
      vision.ImageClassifier.create_from_options(options) as classifier:
    for path in photos:
      pixels = np.round(graph_runner.resize_photo(sess, path)).astype(np.uint8)
      assert pixels.shape == (224, 224, 3)
      scores = sess.run('final_result:0', {'ResizeBilinear:0': pixels[None].astype(
          np.float32)})[0]
      result = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB,
                                            data=pixels))
      top = result.classifications[0].categories[0]
      assert top.index == int(np.argmax(scores)), path
      assert top.category_name == tops['litert'][os.path.basename(path)], path


@pytest.mark.slow
def test_one_cache_folder_keeps_two_bases_apart(tmp_path, model_dir,
                                                keras_model_dir):
  """Inception's files keep the book's names; another base's are named
  apart, its index too: each base's first run computes all of its own,
  and Inception's second, after the other base's, finds all of its own
  (a Keras base's warm run: test_retrain.py's resume test)."""
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=8)
  folders = {bases.DEFAULT: model_dir,
             'mobilenet_v3_small': keras_model_dir('mobilenet_v3_small')}
  for name, created in ((bases.DEFAULT, 4 * 8), ('mobilenet_v3_small', 4 * 8),
                        (bases.DEFAULT, None)):
    result = run_script('retrain.py', *retrain_args(
        tmp_path / name, photos, folders[name], 2, '--architecture=' + name,
        '--bottleneck_dir=%s' % (tmp_path / 'bottlenecks')))
    assert result.returncode == 0, result.stderr
    found = re.search(r'Creating (\d+) bottlenecks', result.stdout)
    assert (found and int(found.group(1))) == created, name
  names = os.listdir(tmp_path / 'bottlenecks' / 'daisy')
  assert len(names) == 2 * 8
  assert sum(n.endswith('.jpg.txt') for n in names) == 8
  assert sum(n.endswith('.jpg_mobilenet_v3_small.txt') for n in names) == 8
  small = bases.BASES['mobilenet_v3_small']
  for base in (bases.INCEPTION_V3, small):
    assert os.path.exists(cache.index_path(str(tmp_path / 'bottlenecks'), base))
  for name in names:
    size = small.bottleneck_size if 'mobilenet' in name else 2048
    text = (tmp_path / 'bottlenecks' / 'daisy' / name).read_text()
    assert cache.parse_bottleneck(text, size) is not None, name


@pytest.mark.slow
def test_without_litert_a_keras_base_runs_on_tensorflow(tmp_path, keras_model_dir):
  """Where LiteRT is not installed (an Intel Mac), TensorFlow computes a
  Keras base's bottlenecks: the same values as LiteRT's but for rounding,
  and the run writes its model all the same."""
  base = bases.BASES['mobilenet_v3_small']
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=4)
  hide_litert = ("import runpy, sys; sys.modules['ai_edge_litert'] = None; "
                 "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], "
                 "run_name='__main__')")
  caches = {}
  for engine, wrapper in (('litert', []), ('tensorflow', ['-c', hide_litert])):
    work = tmp_path / engine
    result = subprocess.run(
        [sys.executable, *wrapper, os.path.join(ROOT, 'retrain.py'),
         *retrain_args(work, photos, keras_model_dir(base.name), 2,
                       '--architecture=' + base.name)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert (work / 'flowers_graph.pb').exists()
    caches[engine] = np.stack([
        cache.parse_bottleneck(path.read_text(), base.bottleneck_size)
        for path in sorted((work / 'bottlenecks').glob('*/*.txt'))])
  assert caches['litert'].shape == (4 * 4, base.bottleneck_size)
  assert not np.array_equal(caches['litert'], caches['tensorflow'])  # Two engines.
  scale = np.abs(caches['tensorflow']).max()
  assert np.abs(caches['litert'] - caches['tensorflow']).max() <= 1e-4 * scale


def mediapipe_against_litert(model, graph_path, photos):
  """MediaPipe's ImageClassifier and LiteRT, each running the .tflite
  `model` on the graph's own resized pixels of each photo (rounded to
  uint8, as an image is): [(MediaPipe's scores, LiteRT's)], each in label
  order, MediaPipe's categories named by `graph_path`'s labels file. Skips
  without MediaPipe."""
  mp = pytest.importorskip('mediapipe')
  pytest.importorskip('ai_edge_litert')
  from mediapipe.tasks.python import BaseOptions, vision

  from retraining.lite import runner
  labels = open(os.path.join(os.path.dirname(graph_path), 'flowers_labels.txt'),
                encoding='utf-8').read().split()
  interpreter = runner.load_model(str(model))
  form = runner.input_form(interpreter, str(model))
  options = vision.ImageClassifierOptions(base_options=BaseOptions(
      model_asset_path=str(model)), max_results=-1)
  pairs = []
  with graph_runner.session_on(graph_runner.read_graph(str(graph_path))) as sess, \
      vision.ImageClassifier.create_from_options(options) as classifier:
    for path in photos:
      pixels = np.round(graph_runner.resize_photo(sess, path)).astype(np.uint8)
      assert pixels.shape == (form.size, form.size, 3)
      (head,) = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB,
                                             data=pixels)).classifications
      assert sorted((c.index, c.category_name) for c in head.categories) == list(
          enumerate(labels)), path
      got = np.zeros(len(labels), np.float32)
      for category in head.categories:
        got[category.index] = category.score
      pairs.append((got, runner.classify(interpreter, runner.scaled(
          pixels.astype(np.float32), form))))
  return pairs


def check_table(out, mode, labels):
  """The check's table in retrain.py's output: {row name: (photos, float32
  correct, quantized correct)} for each label and 'total', and the line
  counting the photos whose top label changed: (changed, photos)."""
  title = 'The %s model against the float32 model on the test set' % mode
  assert title in out, out
  lines = out[out.index(title):].splitlines()[1:]
  assert lines[0] == '' and lines[1].split() == [
      'class', 'float32', mode, 'change', 'photos'], lines
  rows = {}
  for line in lines[2:2 + len(labels) + 1]:
    name, float_percent, quantized_percent, _, photos = line.split()
    photos = int(photos)
    rows[name] = tuple([photos] + [
        round(float(percent.rstrip('%')) * photos / 100) if photos else 0
        for percent in (float_percent, quantized_percent)])
  assert list(rows) == labels + ['total'], lines
  changed = re.match(r'Top label changed on (\d+) of (\d+) test photos',
                     lines[2 + len(rows) + 1])
  assert changed, lines
  return rows, (int(changed.group(1)), int(changed.group(2)))


@pytest.mark.slow
def test_int8_on_the_large_mobilenet_is_small_checked_and_runs_in_mediapipe(
    large_int8_trained):
  """--tflite_quantize=int8 with --architecture=mobilenet_v3_large: an int8
  .tflite at most 0.3 times the float one's size; the check's table, one
  row per class; where no class and not the whole test set loses more than
  a point (--max_quantization_loss), it is the phone model, with the same
  top label as the float model on 95% of the test photos; else the one
  warning, the float model the phone model and the int8 one beside it.
  MediaPipe's ImageClassifier runs it with LiteRT's scores."""
  work, result = large_int8_trained
  labels = (work / 'flowers_labels.txt').read_text().split()
  phone = work / 'flowers_graph.tflite'
  aside = work / 'flowers_graph_int8.tflite'
  out = result.stdout
  n = int(re.search(r'Final test accuracy = [\d.]+% \(N=(\d+)\)', out).group(1))
  rows, (changed, checked) = check_table(out, 'int8', labels)
  assert rows['total'][0] == checked == n > 0
  assert [sum(column) for column in zip(*(rows[label] for label in labels))] == list(
      rows['total'])
  losses = [100 * (f - q) / photos for photos, f, q in rows.values() if photos]
  warnings = [line for line in result.stderr.splitlines() if line.startswith('WARNING:')]
  if max(losses) > 1:
    (warning,) = warnings
    assert warning.startswith('WARNING: the int8 model loses '), warning
    assert warning.endswith(
        'so the phone model %s is the float32 model; the int8 one is kept beside '
        'it as %s' % (phone, aside)), warning
    dtypes = {t['dtype'] for t in litert_tensors(phone)}
    assert np.int8 not in dtypes, dtypes
  else:
    assert warnings == [], result.stderr
    assert not aside.exists()
    assert changed <= 0.05 * n, out
  model = int8_model(work, result)
  assert model == (aside if warnings else phone)
  assert np.int8 in {t['dtype'] for t in litert_tensors(model)}
  assert model.stat().st_size <= 0.3 * (work / 'float.tflite').stat().st_size
  description = tflite_metadata.parsed_metadata(
      model_file.read_metadata(model.read_bytes())).description
  assert b'int8 (full-integer) weights' in description
  assert b'On %d test photos' % n in description
  photos = sorted((work / 'flower_photos').glob('*/*_0[0-1].jpg'))
  for got, _ in mediapipe_against_litert(model, work / 'flowers_graph.pb', photos):
    # int8 scores end to end: whole 256ths (the softmax's int8 output),
    # summing to one within a step per label.
    assert np.array_equal(got * 256, np.round(got * 256)), got
    assert abs(got.sum() - 1) <= len(labels) / 256, got


def litert_tensors(model):
  """LiteRT's details of every tensor of the .tflite at `model`."""
  pytest.importorskip('ai_edge_litert')
  from retraining.lite import runner
  return runner.load_model(str(model)).get_tensor_details()


@pytest.fixture(scope='module')
def quantized_photos(tmp_path_factory):
  """A photo tree and a cache folder the runs of each mode share."""
  folder = tmp_path_factory.mktemp('quantized')
  return make_photo_tree(str(folder / 'flower_photos')), folder / 'bottlenecks'


@pytest.mark.slow
@pytest.mark.parametrize('name,mode', QUANTIZED_RUNS)
def test_each_quantization_of_a_keras_base_runs_in_mediapipe(
    name, mode, tmp_path, keras_model_dir, quantized_photos):
  """--tflite_quantize=MODE on a Keras base writes a .tflite of that kind
  (the phone model, or where it fell short of its check, the one the
  warning names beside it), which MediaPipe's ImageClassifier opens and
  runs with LiteRT's scores, every label named."""
  photos, bottlenecks = quantized_photos
  result = run_script('retrain.py', *retrain_args(
      tmp_path, photos, keras_model_dir(name), 10, '--architecture=' + name,
      '--bottleneck_dir=%s' % bottlenecks, '--tflite_quantize=' + mode))
  assert result.returncode == 0, result.stderr
  phone = tmp_path / 'flowers_graph.tflite'
  aside = tmp_path / ('flowers_graph_%s.tflite' % mode)
  warned = [line for line in result.stderr.splitlines()
            if line.startswith('WARNING: the %s model' % mode)]
  if mode == 'none':
    assert 'against the float32 model on the test set' not in result.stdout
  else:
    check_table(result.stdout, mode, (tmp_path / 'flowers_labels.txt').read_text().split())
  assert len(warned) <= 1 and aside.exists() == bool(warned), result.stderr
  model = aside if warned else phone
  dtypes = {t['dtype'] for t in litert_tensors(model)}
  assert not {np.float16, np.int8} & dtypes if mode == 'none' else (
      MODE_DTYPES[mode] in dtypes), dtypes
  metadata = model_file.read_metadata(model.read_bytes())
  assert bases.BASES[name].title.encode() in metadata
  assert model_file.normalization(metadata) == (127.5, 127.5)
  weights = quantization.WEIGHTS[mode]
  assert b'; %s weights.' % weights.encode() in tflite_metadata.parsed_metadata(
      metadata).description
  assert model_file.record(model_file.packed_files(str(model)))['weights'] == (
      'float32' if mode == 'none' else mode)
  pairs = mediapipe_against_litert(model, tmp_path / 'flowers_graph.pb',
                                   sorted(Path(photos).glob('*/*_00.jpg')))
  for got, expected in pairs:
    assert np.abs(got - expected).max() <= LITERT_TOLERANCE[mode], (got, expected)
