"""The .tflite on phones: its metadata read back, and MediaPipe Tasks'
ImageClassifier (the client Android, iOS and web apps use) running it."""

import shutil

import numpy as np
import pytest

from retraining import __version__
from retraining.graph import export, rewrite, tflite_file
from retraining.graph import runner as graph_runner
from retraining.graph.tensorflow_v1 import tf, tf1
from retraining.lite import metadata as tflite_metadata
from retraining.lite import runner as litert_runner
from retraining.lite.schema.metadata_schema_py_generated import (
  AssociatedFileType,
  ColorSpaceType,
  ContentProperties,
  ProcessUnitOptions,
)

from conftest import make_good_photo_kinds

LITERT_TOLERANCE = 1e-6  # MediaPipe against LiteRT, on the same pixels
GRAPH_TOLERANCE = 1e-5  # MediaPipe against the frozen graph, on the same pixels


@pytest.fixture(scope='module')
def model(trained):
  """(the .tflite's bytes, the labels file's bytes) retrain.py wrote."""
  work, _ = trained
  return ((work / 'flowers_graph.tflite').read_bytes(),
          (work / 'flowers_labels.txt').read_bytes())


def test_metadata_reads_back_without_mediapipe(model):
  """What MediaPipe reads: RGB, (pixel - 128) / 128, the labels packed in."""
  model_bytes, labels = model
  metadata, packed = tflite_file.read_metadata(model_bytes)
  assert packed == {'flowers_labels.txt': labels}
  metadata = tflite_metadata.parsed_metadata(metadata)
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


@pytest.fixture(scope='module')
def frozen_session(trained):
  work, _ = trained
  graph = tf.Graph()
  with graph.as_default():
    tf1.import_graph_def(rewrite.read_graph_def(str(work / 'flowers_graph.pb')),
                         name='')
  sess = tf1.Session(graph=graph)  # Not `with`: see test_tflite.py.
  yield sess
  sess.close()


@pytest.fixture(scope='module', params=['float32', 'float16'])
def phone_model(request, trained, tmp_path_factory):
  """(path, weights) of the .tflite retrain.py wrote; and of the same with
  --tflite_float16, written in-process as retrain.py writes it."""
  work, _ = trained
  if request.param == 'float32':
    return str(work / 'flowers_graph.tflite'), request.param
  folder = tmp_path_factory.mktemp('float16')
  for name in ('flowers_graph.pb', 'flowers_labels.txt'):
    shutil.copy2(work / name, folder / name)
  export.save_tflite(rewrite.read_graph_def(str(folder / 'flowers_graph.pb')),
                      'final_result', str(folder / 'flowers_graph.pb'),
                      str(folder / 'flowers_labels.txt'), 4, float16=True)
  return str(folder / 'flowers_graph.tflite'), request.param


def test_mediapipe_classifies_with_the_graphs_scores(
    trained, frozen_session, phone_model, tmp_path):
  """Given the graph's own resized pixels (rounded to uint8, as an image
  is), MediaPipe's scores are LiteRT's on those pixels, and (float32
  weights) the graph's; its labels are the labels file's."""
  mp = pytest.importorskip('mediapipe')
  from mediapipe.tasks.python import BaseOptions, vision
  work, _ = trained
  model_path, weights = phone_model
  labels = (work / 'flowers_labels.txt').read_text().split()
  interpreter = litert_runner.load_model(model_path)
  options = vision.ImageClassifierOptions(
      base_options=BaseOptions(model_asset_path=model_path), max_results=-1)
  photos = make_good_photo_kinds(str(tmp_path))
  with vision.ImageClassifier.create_from_options(options) as classifier:
    for kind, path in sorted(photos.items()):
      pixels = np.round(graph_runner.resize_photo(frozen_session, path)).astype(np.uint8)
      result = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB,
                                            data=pixels))
      (head,) = result.classifications
      assert sorted((c.index, c.category_name) for c in head.categories) == list(
          enumerate(labels)), kind
      got = np.zeros(len(labels), np.float32)
      for category in head.categories:
        got[category.index] = category.score
      litert = litert_runner.classify(
          interpreter, litert_runner.scaled(pixels.astype(np.float32)))
      assert np.abs(got - litert).max() <= LITERT_TOLERANCE, kind
      if weights == 'float32':
        graph = frozen_session.run('final_result:0', {
            'ResizeBilinear:0': pixels[None].astype(np.float32)})[0]
        assert np.abs(got - graph).max() <= GRAPH_TOLERANCE, kind
