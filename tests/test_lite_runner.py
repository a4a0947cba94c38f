"""retraining/lite/runner.py: the .tflite run with LiteRT, without
TensorFlow: the graph's pixels and scores for every kind of photo."""

import glob
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from retraining import bases
from retraining.decoding import BadPhoto, read_photo
from retraining.graph import runner as graph_runner
from retraining.graph.tensorflow_v1 import tf
from retraining.lite import model_file
from retraining.lite import runner as litert_runner

from conftest import ROOT, make_bad_photo_kinds, make_good_photo_kinds, make_photo, shared_data

pytest.importorskip('ai_edge_litert')


simplejpeg = pytest.importorskip('simplejpeg')


TOLERANCE = 1e-5  # absolute, on scores
INCEPTION_FORM = model_file.InputForm(299, 128.0, 128.0)


# (width, height): tiny, thin, the model's own, larger, and very wide.
SIZES = [(1, 1), (17, 300), (299, 299), (640, 427), (1000, 3)]


@pytest.fixture(scope='module')
def photo_paths(tmp_path_factory):
  """Every good photo kind, and plain JPEGs of very different sizes."""
  folder = tmp_path_factory.mktemp('kinds')
  paths = make_good_photo_kinds(str(folder))
  for i, size in enumerate(SIZES):
    paths['%dx%d' % size] = make_photo(
        str(folder / ('size_%d.jpg' % i)), (30, 160, 90), seed=i, size=size)
  return paths


def graph_scores(sess, path):
  """The frozen graph's scores, the photo fed as predict.py's TensorFlow
  path feeds it (graph_runner.resize_photo): a JPEG's bytes at
  DecodeJpeg/contents, anything else (and a JPEG TensorFlow rejects) as
  Pillow's pixels at DecodeJpeg."""
  return graph_runner.resize_photo(sess, path, head=(
      bases.JPEG_DATA_TENSOR_NAME, bases.DECODED_IMAGE_TENSOR_NAME,
      'final_result:0'))


def graph_pixels(sess, path):
  """The uint8 pixels the frozen graph's DecodeJpeg gives for this photo."""
  kind, data = read_photo(path)
  if kind == 'jpeg':
    return sess.run('DecodeJpeg:0', {'DecodeJpeg/contents:0': data})
  return data


def test_photos_are_resized_and_scaled_as_the_graph_does(frozen_session,
                                                          photo_paths):
  """Value for value: ResizeBilinear's pixels and Mul's."""
  for kind, path in sorted(photo_paths.items()):
    resized, scaled = frozen_session.run(
        ['ResizeBilinear:0', 'Mul:0'],
        {'DecodeJpeg:0': graph_pixels(frozen_session, path)})
    got = litert_runner.resize_bilinear(litert_runner.photo_pixels(path), 299, 299)
    assert got.dtype == np.float32 and np.array_equal(got, resized[0]), kind
    assert np.array_equal(litert_runner.scaled(got, INCEPTION_FORM), scaled[0]), kind


def test_litert_scores_match_frozen_graph_for_every_photo_kind(
    trained_tflite, frozen_session, photo_paths):
  """Decoding without TensorFlow and the model together, photo by photo."""
  interpreter = litert_runner.load_model(trained_tflite)
  for kind, path in sorted(photo_paths.items()):
    expected = graph_scores(frozen_session, path)
    got = litert_runner.classify(
        interpreter, litert_runner.scaled_photo(path, INCEPTION_FORM))
    assert got.shape == expected.shape, kind
    assert np.abs(got - expected).max() <= TOLERANCE, kind


def test_litert_rejects_the_photos_the_graph_path_rejects(tmp_path):
  for kind, path in make_bad_photo_kinds(str(tmp_path)).items():
    try:
      litert_runner.photo_pixels(path)
    except BadPhoto:
      continue
    pytest.fail('%s was decoded' % kind)


def strip_adobe_segment(data):
  """The JPEG without its APP14 'Adobe' segment (a CMYK JPEG then reads as
  plain, not inverted, CMYK)."""
  i = 2
  while data[i + 1] != 0xDA:  # Start of scan: no more segments.
    length = int.from_bytes(data[i + 2:i + 4], 'big')
    if data[i + 1] == 0xEE and data[i + 4:i + 9] == b'Adobe':
      return data[:i] + data[i + 2 + length:]
    i += 2 + length
  raise AssertionError('no Adobe segment')


@pytest.fixture(scope='module')
def generated_jpegs(tmp_path_factory):
  """{name: JPEG bytes}: the encodings and damage a user's JPEGs may have."""
  rng = np.random.RandomState(3)
  rgb = Image.fromarray((rng.rand(37, 53, 3) * 255).astype(np.uint8))
  folder = tmp_path_factory.mktemp('jpegs')

  def encoded(name, image, **kwargs):
    path = folder / (name + '.jpg')
    image.save(path, **kwargs)
    return path.read_bytes()
  jpegs = {'subsampling_%s' % s: encoded('s%d' % i, rgb, subsampling=s)
           for i, s in enumerate(('4:4:4', '4:2:2', '4:2:0'))}
  jpegs['progressive'] = encoded('progressive', rgb, progressive=True)
  jpegs['grey'] = encoded('grey', rgb.convert('L'))
  jpegs['cmyk_adobe'] = encoded('cmyk', rgb.convert('CMYK'))
  jpegs['cmyk_plain'] = strip_adobe_segment(jpegs['cmyk_adobe'])
  whole, progressive = jpegs['subsampling_4:2:0'], jpegs['progressive']
  # Damage libjpeg warns about but decodes: TensorFlow decodes it too. (The
  # decoder reads a few bytes ahead, so a few bytes of junk may go unseen.)
  jpegs['junk_before_end'] = whole[:-2] + b'junk' * 25 + whole[-2:]
  second_scan = progressive.index(b'\xff\xda', progressive.index(b'\xff\xda') + 2)
  jpegs['junk_between_scans'] = (progressive[:second_scan] + b'junk' * 25 +
                                 progressive[second_scan:])
  jpegs['junk_after_end'] = whole + b'\x00' * 50
  # Data that ends too soon: TensorFlow rejects it.
  jpegs['no_end_marker'] = whole[:-2]
  jpegs['truncated'] = whole[:len(whole) * 2 // 3]
  return jpegs


def tf_pixels(data):
  try:
    return tf.io.decode_jpeg(data, channels=3).numpy()
  except tf.errors.InvalidArgumentError:
    return None


def litert_pixels(data):
  try:
    return litert_runner.jpeg_pixels(data)
  except ValueError:
    return None


def test_jpeg_pixels_are_tensorflows(generated_jpegs):
  for name, data in sorted(generated_jpegs.items()):
    expected, got = tf_pixels(data), litert_pixels(data)
    if expected is None:
      assert got is None, name + ' is rejected by TensorFlow'
    else:
      assert got is not None, name + ' is decoded by TensorFlow'
      assert got.dtype == np.uint8 and np.array_equal(got, expected), name


def test_damaged_jpegs_cover_both_answers(generated_jpegs):
  """Otherwise the test above would not check that warnings are ignored
  and a short file is rejected, as TensorFlow does."""
  answers = {name: tf_pixels(data) is None
             for name, data in generated_jpegs.items()}
  assert answers['truncated'] and answers['no_end_marker']
  assert not any(answers[name] for name in (
      'junk_before_end', 'junk_between_scans', 'junk_after_end'))
  for name in ('junk_before_end', 'junk_between_scans'):
    with pytest.raises(ValueError, match='Corrupt JPEG data'):
      simplejpeg.decode_jpeg(generated_jpegs[name], strict=True)


def test_jpeg_pixels_and_their_resizing_are_tensorflows_on_original_photos():
  paths = sorted(glob.glob(os.path.join(
      shared_data('flower_photos_original_sample'), '*', '*.jpg')))
  assert len(paths) == 150
  for path in paths:
    with open(path, 'rb') as f:
      data = f.read()
    pixels = tf_pixels(data)
    assert np.array_equal(litert_runner.jpeg_pixels(data), pixels), path
    resized = tf.raw_ops.ResizeBilinear(images=pixels[None], size=[299, 299])
    assert np.array_equal(litert_runner.resize_bilinear(pixels, 299, 299),
                          resized[0]), path


def test_litert_does_not_import_tensorflow():
  code = ('import sys; import retraining.lite.runner; '
          'sys.exit("tensorflow" in sys.modules)')
  result = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr or 'tensorflow was imported'
