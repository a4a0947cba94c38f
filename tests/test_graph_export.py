"""retraining/graph/export.py and lite/model_file.py: the .tflite beside the
frozen graph, its metadata, and MediaPipe Tasks' own ImageClassifier
opening it (the client of Android, iOS and web apps)."""

import hashlib
import io
import os
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from retraining import UserError, __version__, files
from retraining.bases import INCEPTION_V3 as INCEPTION
from retraining.decoding import read_photo
from retraining.graph import export, rewrite
from retraining.graph import runner as graph_runner
from retraining.graph.tensorflow_v1 import tf, tf1
from retraining.lite import metadata as tflite_metadata
from retraining.lite import model_file, quantization
from retraining.lite.schema.metadata_schema_py_generated import (
  AssociatedFileType,
  ColorSpaceType,
  ContentProperties,
  ProcessUnitOptions,
)

from conftest import make_good_photo_kinds

TOLERANCE = 1e-5  # absolute, on scores: LiteRT against the frozen graph
LITERT_TOLERANCE = 1e-6  # MediaPipe against LiteRT, on the same pixels
GRAPH_TOLERANCE = 1e-5  # MediaPipe against the frozen graph, on the same pixels


@pytest.fixture(scope='module')
def litert():
  """LiteRT's runner, for the tests that run the model (skipped without it)."""
  pytest.importorskip('ai_edge_litert')
  pytest.importorskip('simplejpeg')
  from retraining.lite import runner
  return runner


@pytest.fixture(scope='module')
def photo_paths(tmp_path_factory):
  return make_good_photo_kinds(str(tmp_path_factory.mktemp('kinds')))


def graph_pixels(sess, path):
  """The uint8 pixels the frozen graph's DecodeJpeg gives for this photo."""
  kind, data = read_photo(path)
  if kind == 'jpeg':
    return sess.run('DecodeJpeg:0', {'DecodeJpeg/contents:0': data})
  return data


def test_model_takes_the_scaled_photo(trained_tflite, trained, litert):
  """One photo resized and scaled, as the graph's Mul gives it: the input
  phone toolkits expect of an image classifier."""
  work, _ = trained
  labels = (work / 'flowers_labels.txt').read_text().split('\n')
  interpreter = litert.load_model(trained_tflite)
  [photo], [scores] = (interpreter.get_input_details(),
                       interpreter.get_output_details())
  assert photo['name'] == 'Mul' and photo['dtype'] == np.float32
  assert list(photo['shape_signature']) == [1, 299, 299, 3]
  assert scores['name'] == 'final_result' and scores['dtype'] == np.float32
  assert list(scores['shape']) == [1, len([line for line in labels if line])]


def test_model_matches_frozen_graph_on_the_same_pixels(
    trained_tflite, frozen_session, photo_paths, litert):
  """The conversion alone, in a bare interpreter, fed the graph's Mul:0."""
  interpreter = litert.load_model(trained_tflite)
  photo = interpreter.get_input_details()[0]['index']
  scores = interpreter.get_output_details()[0]['index']
  for kind, path in sorted(photo_paths.items()):
    scaled, expected = frozen_session.run(
        ['Mul:0', 'final_result:0'],
        {'DecodeJpeg:0': graph_pixels(frozen_session, path)})
    interpreter.set_tensor(photo, scaled)
    interpreter.invoke()
    got = interpreter.get_tensor(scores)[0]
    assert np.abs(got - expected[0]).max() <= TOLERANCE, kind


@pytest.mark.parametrize('resized', [False, True])
def test_tflite_model_needs_retrains_graph(resized):
  """No Mul, or a Mul that does not scale ResizeBilinear's photo."""
  graph = tf.Graph()
  with graph.as_default():
    pixels = tf1.placeholder(tf.float32, [1, 299, 299, 3], name='pixels')
    if resized:
      pixels = tf.identity(pixels, name='Mul')
    tf.identity(pixels, name='final_result')
  with pytest.raises(UserError, match='no Mul node scaling the ResizeBilinear'):
    export.tflite_model(graph.as_graph_def(), INCEPTION, 'final_result')


def test_a_failed_conversion_is_one_warning_and_writes_nothing(tmp_path, capsys):
  """retrain.py still succeeds (predict.py then uses the graph)."""
  graph = tf.Graph()
  with graph.as_default():
    tf.identity(tf1.placeholder(tf.float32, [None, 2]), name='final_result')
  export.save_model(graph.as_graph_def(), INCEPTION, ['a', 'b'], 'final_result',
                    str(tmp_path / 'flowers_graph.pb'),
                    str(tmp_path / 'flowers_labels.txt'), True)
  assert capsys.readouterr().err == (
      'WARNING: could not convert the model for TensorFlow Lite (the graph has '
      'no Mul node scaling the ResizeBilinear photo: was it written by '
      'retrain.py?); %s is not written\n' % (tmp_path / 'flowers_graph.tflite'))
  assert sorted(os.listdir(tmp_path)) == ['flowers_graph.pb', 'flowers_labels.txt']


def test_tflite_is_written_again_when_its_graph_weights_or_labels_change(
    trained, tmp_path, capsys):
  """Kept while its record names this graph, these weights and this
  metadata, and it packs these labels, whatever the files' times: another
  graph, --tflite_float16 or other labels write it anew."""
  work, _ = trained
  for name in ('flowers_graph.pb', 'flowers_labels.txt'):
    shutil.copy2(work / name, tmp_path / name)
  graph_def = rewrite.read_graph_def(str(tmp_path / 'flowers_graph.pb'))
  model = tmp_path / 'flowers_graph.tflite'
  labels = tmp_path / 'flowers_labels.txt'

  def saves_tflite(float16, names, graph=graph_def):
    export.save_model(graph, INCEPTION, names, 'final_result',
                      str(tmp_path / 'flowers_graph.pb'), str(labels), True,
                      checked_plan(work, 'float16' if float16 else 'none'))
    out = capsys.readouterr().out
    assert ('%s is up to date' % model in out) != (str(model) in out.splitlines()[-1])
    return str(model) in out.splitlines()[-1]
  names = labels.read_text().split()
  assert saves_tflite(False, names) and not saves_tflite(False, names)
  first = model.read_bytes()
  with zipfile.ZipFile(model) as z:  # Dated as nothing else: the same bytes.
    assert {info.date_time for info in z.infolist()} == {export.PACKED_FILES_DATE}
  graph_time = os.stat(tmp_path / 'flowers_graph.pb').st_mtime
  for model_time in (graph_time - 60, graph_time, graph_time + 60):
    os.utime(model, (model_time, model_time))
    assert not saves_tflite(False, names)
  other_graph = tf1.GraphDef()
  other_graph.CopyFrom(graph_def)
  other_graph.node.add(name='another_run', op='NoOp')
  assert (saves_tflite(False, names, other_graph) and
          not saves_tflite(False, names, other_graph))
  assert saves_tflite(False, names)
  assert model.read_bytes() == first
  full_size = model.stat().st_size
  assert saves_tflite(True, names) and not saves_tflite(True, names)
  assert model.stat().st_size < 0.6 * full_size
  assert saves_tflite(True, [name.upper() for name in names])
  packed = model_file.packed_files(str(model))
  assert packed.pop('flowers_labels.txt') == labels.read_bytes()
  record = model_file.record(packed)
  assert list(packed) == [model_file.RECORD_NAME]
  assert record['weights'] == 'float16'
  assert record['graph_sha256'] == files.sha256_of(str(tmp_path / 'flowers_graph.pb'))
  assert model_file.made_from(record, str(tmp_path / 'flowers_graph.pb'))
  assert not model_file.made_from(record, str(work / 'flowers_labels.txt'))


@pytest.fixture(scope='module')
def model(trained):
  """(the .tflite's bytes, the labels file's bytes) retrain.py wrote."""
  work, _ = trained
  return ((work / 'flowers_graph.tflite').read_bytes(),
          (work / 'flowers_labels.txt').read_bytes())


def test_the_metadata_read_without_a_schema_is_what_the_schema_reads(model):
  """model_file walks three fields of the flatbuffer by hand: the same
  bytes as TensorFlow's generated schema of the whole model gives."""
  from tensorflow.lite.python import schema_py_generated as model_schema
  model_bytes, _ = model
  root = model_schema.Model.GetRootAs(model_bytes, 0)
  (entry,) = [root.Metadata(i) for i in range(root.MetadataLength())
              if root.Metadata(i).Name() == b'TFLITE_METADATA']
  expected = root.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
  assert len(expected) > 100
  assert model_file.read_metadata(model_bytes) == expected


def test_metadata_reads_back_without_mediapipe(model):
  """What MediaPipe reads: RGB, (pixel - 128) / 128, the labels packed in;
  and the record, named as the model's own file."""
  model_bytes, labels = model
  metadata = model_file.read_metadata(model_bytes)
  packed = model_file.packed_files(io.BytesIO(model_bytes))
  assert sorted(packed) == ['flowers_labels.txt', model_file.RECORD_NAME]
  assert packed['flowers_labels.txt'] == labels
  assert model_file.record(packed)['metadata_sha256'] == hashlib.sha256(metadata).hexdigest()
  metadata = tflite_metadata.parsed_metadata(metadata)
  (record,) = metadata.associatedFiles
  assert record.name.decode() == model_file.RECORD_NAME
  assert record.type == AssociatedFileType.UNKNOWN
  assert metadata.name == b'flowers_graph'
  assert metadata.version.decode() == __version__
  assert b'4 labels' in metadata.description
  assert metadata.minParserVersion == b'1.0.0'
  (subgraph,) = metadata.subgraphMetadata
  (image,) = subgraph.inputTensorMetadata
  assert image.content.contentPropertiesType == ContentProperties.ImageProperties
  assert image.content.contentProperties.colorSpace == ColorSpaceType.RGB
  (scaling,) = image.processUnits
  assert scaling.optionsType == ProcessUnitOptions.NormalizationOptions
  assert list(scaling.options.mean) == [128] and list(scaling.options.std) == [128]
  (scores,) = subgraph.outputTensorMetadata
  (labels_file,) = scores.associatedFiles
  assert labels_file.name == b'flowers_labels.txt'
  assert labels_file.type == AssociatedFileType.TENSOR_AXIS_LABELS


def checked_plan(work, mode, max_loss=1.0, calibration=None):
  """The Plan of `mode` for the trained photos: calibrated on five of each
  class (or on `calibration`), checked on three others of each."""
  labels = (work / 'flowers_labels.txt').read_text().split()
  photos = [sorted((work / 'flower_photos' / label).iterdir()) for label in labels]
  return quantization.Plan(
      mode, max_loss,
      [str(p) for ps in photos for p in ps[:5]] if calibration is None else calibration,
      [str(p) for ps in photos for p in ps[-3:]],
      [label for label, ps in enumerate(photos) for _ in ps[-3:]])


def save_beside(work, folder, plan):
  """export.save_model of the trained graph and labels, copied to
  `folder`, as retrain.py saves them with `plan`."""
  for name in ('flowers_graph.pb', 'flowers_labels.txt'):
    shutil.copy2(work / name, folder / name)
  export.save_model(rewrite.read_graph_def(str(folder / 'flowers_graph.pb')),
                    INCEPTION, (folder / 'flowers_labels.txt').read_text().split(),
                    'final_result', str(folder / 'flowers_graph.pb'),
                    str(folder / 'flowers_labels.txt'), True, plan)
  return str(folder / 'flowers_graph.tflite')


@pytest.fixture(scope='module', params=['float32', 'float16', 'dynamic', 'int8'])
def phone_model(request, trained, tmp_path_factory, litert):
  """(path, weights) of the .tflite retrain.py wrote; and of the same with
  each --tflite_quantize, written in-process as retrain.py writes it."""
  work, _ = trained
  if request.param == 'float32':
    return str(work / 'flowers_graph.tflite'), request.param
  path = save_beside(work, tmp_path_factory.mktemp(request.param),
                     checked_plan(work, request.param))
  assert model_file.record(model_file.packed_files(path))['weights'] == request.param
  # It passed its check: it is the phone model, nothing kept beside it.
  assert not os.path.exists(model_file.kept_aside(path, request.param))
  return path, request.param


def test_quantized_model_that_falls_short_is_kept_beside_the_float_one(
    trained, tmp_path, capsys, litert):
  """Calibrated on one flat grey photo, the int8 model clips every class's
  activations: the table shows the loss, one warning names the worst
  class, the float model is the phone model and the int8 one is beside it,
  each saying so in its metadata."""
  work, _ = trained
  grey = tmp_path / 'grey.png'
  Image.new('RGB', (64, 48), (128, 128, 128)).save(grey)
  folder = tmp_path / 'model'
  folder.mkdir()
  path = save_beside(work, folder, checked_plan(work, 'int8', 1.0, [str(grey)]))
  out, err = capsys.readouterr()
  aside = str(folder / 'flowers_graph_int8.tflite')
  (warning,) = err.splitlines()
  assert warning.startswith('WARNING: the int8 model loses ')
  assert warning.endswith(', so the phone model %s is the float32 model; the '
                          'int8 one is kept beside it as %s' % (path, aside))
  table = out[out.index('The int8 model against'):out.index('Saved')]
  total = [line.split() for line in table.splitlines() if line.startswith('total')]
  assert total[0][1] == '100.0%' and float(total[0][3]) < -1, table
  worst = warning.split("on class '")[1].split("'")[0]
  assert worst in (work / 'flowers_labels.txt').read_text().split()
  assert out.splitlines()[-1].endswith('%s, %s' % (path, aside))
  float_interpreter = litert.load_model(path)
  assert {t['dtype'] for t in float_interpreter.get_tensor_details()} == {np.float32}
  assert np.int8 in {t['dtype'] for t in litert.load_model(aside).get_tensor_details()}
  for model, start in ((path, b'Its int8 version was not kept: it loses'),
                       (aside, b'Not the phone model: it loses')):
    description = tflite_metadata.parsed_metadata(
        model_file.read_metadata(open(model, 'rb').read())).description
    assert start in description and b'On 12 test photos' in description, model


def test_mediapipe_classifies_with_the_graphs_scores(
    trained, frozen_session, phone_model, photo_paths, litert):
  """Given the graph's own resized pixels (rounded to uint8, as an image
  is), MediaPipe's scores are LiteRT's on those pixels, and (float32
  weights) the graph's; its labels are the labels file's."""
  mp = pytest.importorskip('mediapipe')
  from mediapipe.tasks.python import BaseOptions, vision
  work, _ = trained
  trained_tflite, weights = phone_model
  labels = (work / 'flowers_labels.txt').read_text().split()
  interpreter = litert.load_model(trained_tflite)
  options = vision.ImageClassifierOptions(
      base_options=BaseOptions(model_asset_path=trained_tflite), max_results=-1)
  with vision.ImageClassifier.create_from_options(options) as classifier:
    for kind, path in sorted(photo_paths.items()):
      pixels = np.round(graph_runner.resize_photo(frozen_session, path)).astype(np.uint8)
      result = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB,
                                            data=pixels))
      (head,) = result.classifications
      assert sorted((c.index, c.category_name) for c in head.categories) == list(
          enumerate(labels)), kind
      got = np.zeros(len(labels), np.float32)
      for category in head.categories:
        got[category.index] = category.score
      litert_scores = litert.classify(
          interpreter, litert.scaled(pixels.astype(np.float32),
                                     model_file.InputForm(299, 128.0, 128.0)))
      assert np.abs(got - litert_scores).max() <= LITERT_TOLERANCE, kind
      if weights == 'float32':
        graph = frozen_session.run('final_result:0', {
            'ResizeBilinear:0': pixels[None].astype(np.float32)})[0]
        assert np.abs(got - graph).max() <= GRAPH_TOLERANCE, kind
