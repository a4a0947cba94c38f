"""predict.py run as a user runs it: scores, the CSV, the window, both runtimes."""

import csv
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from retraining.bases import INCEPTION_V3
from retraining.graph import export, rewrite

import screen
from conftest import (
  ROOT,
  assert_clean_failure,
  make_bad_photo_kinds,
  make_good_photo_kinds,
  retrain_args,
  run_script,
)

SCORE_LINE = re.compile(r'^(.+) \((\d+\.\d\d)%\)$')


BOOK_HEADER = '=== 예측 결과 ==='


KOREAN_LABELS = ['데이지', '장미', '해바라기', '튤립']  # flowers_labels.txt's order


PRINTED_PRECISION = 0.01  # percent: a score on a rounding boundary may differ


def predict(work, *args):
  return run_script('predict.py', *args,
                    '--output_graph', work / 'flowers_graph.pb',
                    '--output_labels=%s' % (work / 'flowers_labels.txt'))


def scores_of(lines):
  return [(m.group(1), float(m.group(2)))
          for m in map(SCORE_LINE.match, lines) if m]


def test_one_photo_prints_every_label_highest_first(trained):
  """The book's command, headless: the scores, and how to get the window."""
  work, _ = trained
  result = predict(work, work / 'flower_photos' / 'roses' / 'roses_07.jpg')
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert lines[0] == BOOK_HEADER and lines.count(BOOK_HEADER) == 1
  scores = scores_of(lines)
  assert sorted(name for name, _ in scores) == ['daisy', 'roses', 'sunflowers',
                                                'tulips']
  values = [v for _, v in scores]
  assert values == sorted(values, reverse=True)
  assert abs(sum(values) - 100) < 0.1
  assert scores[0][0] == 'roses'
  no_display = [line for line in lines if 'No display' in line]
  assert len(no_display) == 1 and '--save_figure' in no_display[0]


def test_many_photos_and_folders_in_one_call_and_their_grid(trained, tmp_path):
  work, _ = trained
  grid = tmp_path / 'grid.png'
  result = predict(work, work / 'flower_photos' / 'roses' / 'roses_00.jpg',
                   work / 'flower_photos' / 'tulips', '--noshow_image',
                   '--save_figure=%s' % grid)
  assert result.returncode == 0, result.stderr
  assert 'cannot be shown' not in result.stdout
  blocks = re.split(r'\n(?=\S+\.jpg\n)', result.stdout.strip())
  assert len(blocks) == 26
  assert re.search(r'Classified 26 photos in [\d.]+ s after loading the graph '
                   r'\([\d.]+ photos/s\)',
                   result.stdout)
  assert all(b.splitlines()[1] == BOOK_HEADER for b in blocks)
  tulip_blocks = [b for b in blocks if '/tulips/' in b.splitlines()[0]]
  assert sum(scores_of(b.splitlines()[1:])[0][0] == 'tulips'
             for b in tulip_blocks) >= 20
  shape, variance = png_stats(grid)
  assert shape[0] > 1000 and shape[1] > 1000 and variance > 100


def test_missing_photo_is_named_and_the_others_classified(trained, tmp_path):
  work, _ = trained
  result = predict(work, tmp_path / 'no_such.jpg',
                   work / 'flower_photos' / 'daisy' / 'daisy_01.jpg',
                   '--show_image=False')
  assert 'Traceback' not in result.stderr
  assert result.returncode == 1
  (line,) = [line for line in result.stderr.splitlines()
            if line.startswith('predict.py: error:')]
  assert 'no_such.jpg' in line
  assert len(scores_of(result.stdout.splitlines())) == 4
  assert 'cannot be shown' not in result.stdout


def test_missing_model_is_a_clean_error(trained, tmp_path):
  work, _ = trained
  result = run_script('predict.py', work / 'flower_photos' / 'roses' / 'roses_00.jpg',
                      '--output_graph', tmp_path / 'none.pb',
                      '--output_labels', work / 'flowers_labels.txt')
  assert_clean_failure(result)
  assert 'run retrain.py first' in result.stderr


def test_labels_that_do_not_match_the_graph_are_an_error(trained, tmp_path):
  work, _ = trained
  labels = tmp_path / 'labels.txt'
  labels.write_text('a\nb\n')
  result = run_script('predict.py', work / 'flower_photos' / 'roses' / 'roses_00.jpg',
                      '--output_graph', work / 'flowers_graph.pb',
                      '--output_labels', labels)
  assert_clean_failure(result)
  assert '2 lines' in result.stderr


def png_stats(path):
  from PIL import Image
  pixels = np.asarray(Image.open(path).convert('L'), float)
  return pixels.shape, pixels.var()


def test_save_figure_for_one_photo_without_a_display(trained, tmp_path):
  work, _ = trained
  one = tmp_path / 'one.png'
  result = predict(work, work / 'flower_photos' / 'roses' / 'roses_02.jpg',
                   '--save_figure', one, '--show_image=True')
  assert result.returncode == 0, result.stderr
  assert 'Saved the figure to %s' % one in result.stdout
  assert 'No display: the window cannot be shown.' in result.stdout
  shape, variance = png_stats(one)
  assert shape == (450, 1000) and variance > 100


def test_korean_labels_print_and_draw_without_warnings(trained, korean_model,
                                                       tmp_path):
  """Also where no Korean font is installed: the figure brings its own."""
  work, _ = trained
  figure = tmp_path / 'one.png'
  result = run_script('predict.py', work / 'flower_photos' / 'roses' / 'roses_02.jpg',
                      '--output_graph', korean_model / 'flowers_graph.pb',
                      '--output_labels', korean_model / 'flowers_labels.txt',
                      '--save_figure', figure,
                      '--noshow_image')
  assert result.returncode == 0, result.stderr
  assert 'cannot be shown' not in result.stdout
  assert sorted(name for name, _ in scores_of(result.stdout.splitlines())) == [
      '데이지', '장미', '튤립', '해바라기']
  assert 'missing from font' not in result.stderr
  assert 'no font here' not in result.stderr
  assert png_stats(figure)[0] == (450, 1000)


def scores_by_photo(stdout):
  """{photo path: [(label, percent)], highest first} of a run on several
  photos, in the order printed."""
  blocks, path = {}, None
  for line in stdout.splitlines():
    match = SCORE_LINE.match(line)
    if match:
      blocks[path].append((match.group(1), float(match.group(2))))
    elif line != BOOK_HEADER and not line.startswith(('Classified ', 'Saved ')):
      path = line
      blocks[path] = []
  return blocks


def lines_starting(text, prefix):
  return [line for line in text.splitlines() if line.startswith(prefix)]


def warnings_of(result):
  """predict.py's WARNING lines, without TensorFlow's own about its logs."""
  return [line for line in lines_starting(result.stderr, 'WARNING:')
          if 'absl::InitializeLog' not in line]


@pytest.fixture(scope='module')
def hidden_tensorflow(tmp_path_factory):
  """run_script's env where `import tensorflow` fails, as where it is not
  installed: a `tensorflow` package that raises, first on the path."""
  folder = tmp_path_factory.mktemp('without_tensorflow')
  (folder / 'tensorflow').mkdir()
  (folder / 'tensorflow' / '__init__.py').write_text(
      'raise ImportError("No module named \'tensorflow\' (hidden by the '
      'test)")\n')
  return {'PYTHONPATH': os.pathsep.join(
      [str(folder)] + [p for p in [os.environ.get('PYTHONPATH')] if p])}


@pytest.fixture(scope='module')
def korean_model(trained, tmp_path_factory):
  """The trained model with its classes named in Korean, as a run on
  Korean class folders writes it: graph, labels and the .tflite with those
  labels packed in."""
  work, _ = trained
  folder = tmp_path_factory.mktemp('korean')
  shutil.copy2(work / 'flowers_graph.pb', folder / 'flowers_graph.pb')
  export.save_model(rewrite.read_graph_def(str(folder / 'flowers_graph.pb')),
                    INCEPTION_V3, KOREAN_LABELS, 'final_result',
                    str(folder / 'flowers_graph.pb'),
                    str(folder / 'flowers_labels.txt'), True)
  return folder


@pytest.fixture(scope='module')
def photo_inputs(korean_model, tmp_path_factory):
  """Every kind of good photo (JPEGs of each sort, EXIF-rotated, PNGs, GIF,
  BMP, WebP), then a truncated JPEG and a missing file; with Korean labels."""
  folder = tmp_path_factory.mktemp('inputs')
  good = list(make_good_photo_kinds(str(folder / 'good')).values())
  bad = make_bad_photo_kinds(str(folder / 'bad'))['truncated']
  return good, [bad, str(folder / 'missing.jpg')], korean_model / 'flowers_labels.txt'


@pytest.fixture(scope='module')
def graph_run(korean_model, photo_inputs):
  """predict.py on every input with --runtime=tensorflow."""
  good, bad, labels = photo_inputs
  return run_script('predict.py', *good, *bad, '--runtime=tensorflow',
                    '--output_graph', korean_model / 'flowers_graph.pb',
                    '--output_labels', labels, '--noshow_image')


def assert_same_scores(got, expected):
  """The same photos, labels and order; scores to the printed precision."""
  assert list(got) == list(expected)
  for path, scores in expected.items():
    assert [name for name, _ in got[path]] == [name for name, _ in scores], path
    for (_, value), (_, expected_value) in zip(got[path], scores):
      assert abs(value - expected_value) <= PRINTED_PRECISION + 1e-9, path


def test_litert_without_tensorflow_gives_the_graphs_scores_and_a_table(
    korean_model, photo_inputs, graph_run, hidden_tensorflow, tmp_path):
  """The default runtime, where TensorFlow is not installed: the .tflite
  beside the graph, with the frozen graph's output; and --output_csv."""
  pytest.importorskip('ai_edge_litert')
  pytest.importorskip('simplejpeg')
  good, bad, labels = photo_inputs
  table = tmp_path / 'scores.csv'
  result = run_script('predict.py', *good, *bad,
                      '--output_graph', korean_model / 'flowers_graph.pb',
                      '--output_labels', labels, '--noshow_image',
                      '--output_csv', table, env=hidden_tensorflow)
  assert_clean_failure(result)
  assert result.returncode == 1
  assert not warnings_of(result)
  errors = lines_starting(result.stderr, 'predict.py: error:')
  assert errors == lines_starting(graph_run.stderr, 'predict.py: error:')
  assert bad[1] in errors[0] and bad[0] in errors[1]  # Missing ones first.
  assert graph_run.returncode == 1 and 'XNNPACK' not in graph_run.stderr
  printed = scores_by_photo(result.stdout)
  assert list(printed) == good
  assert_same_scores(printed, scores_by_photo(graph_run.stdout))
  assert result.stdout.count(BOOK_HEADER) == len(good)
  assert re.search(r'Classified %d photos in [\d.]+ s after loading the graph '
                   r'\([\d.]+ photos/s\)' % len(good), result.stdout)
  assert 'Saved the scores to %s' % table in result.stdout

  with open(table, encoding='utf-8', newline='') as f:
    header, *rows = list(csv.reader(f))
  assert header == ['path', 'top_label', 'top_score'] + KOREAN_LABELS + ['error']
  assert [row[0] for row in rows] == good + bad
  for row in rows[:len(good)]:
    top_label, top_score, scores = row[1], float(row[2]), row[3:-1]
    assert row[-1] == ''
    printed_label, printed_score = printed[row[0]][0]
    assert top_label == printed_label
    assert abs(top_score * 100 - printed_score) <= 0.005 + 1e-6, row
    assert top_score == max(map(float, scores))
    assert top_label == KOREAN_LABELS[scores.index(row[2])]
    assert abs(sum(map(float, scores)) - 1) < 1e-5
  for row in rows[len(good):]:
    assert row[1:-1] == [''] * (len(KOREAN_LABELS) + 2)
    assert row[-1] and any(line.endswith('%s: %s' % (row[0], row[-1]))
                           for line in errors)


MODEL_FILES = ('flowers_labels.txt', 'flowers_graph.tflite', 'flowers_graph.pb')


def copy_plainly(source, folder):
  """cp without -p, file by file, the graph last: every file gets the time
  of its copy."""
  os.makedirs(folder)
  for name in MODEL_FILES:
    shutil.copyfile(source / name, folder / name)


def copy_by_zip(source, folder):
  """Zipped and unzipped, as unzip restores times: in 2-second steps."""
  archive = folder.parent / (folder.name + '.zip')
  with zipfile.ZipFile(archive, 'w') as z:
    for name in MODEL_FILES:
      z.write(source / name, name)
  with zipfile.ZipFile(archive) as z:
    for info in z.infolist():
      z.extract(info, folder)
      stamp = time.mktime(info.date_time + (0, 0, -1))
      os.utime(folder / info.filename, (stamp, stamp))


def copy_with_equal_times(source, folder):
  copy_plainly(source, folder)
  for name in MODEL_FILES:
    os.utime(folder / name, ns=(1796580839976134782,) * 2)


def copy_with_the_tflite_older(source, folder):
  copy_plainly(source, folder)
  graph_time = os.stat(folder / 'flowers_graph.pb').st_mtime
  os.utime(folder / 'flowers_graph.tflite', (graph_time - 3600,) * 2)


def csv_scores(path):
  """The rows of predict.py's CSV file without the paths."""
  with open(path, encoding='utf-8') as f:
    return [row[1:] for row in csv.reader(f)]


def test_a_model_folder_copied_any_way_runs_its_tflite(
    korean_model, photo_inputs, hidden_tensorflow, tmp_path):
  """Files travel without their times. Copied plainly, zipped, with equal
  times or the .tflite an hour older than the graph: predict.py runs the
  .tflite (TensorFlow is hidden, so LiteRT must run it) with no warning,
  and gives the same scores, to the last digit, each time; with
  TensorFlow there too, it still runs the .tflite (the graph's scores
  differ in their last digits)."""
  pytest.importorskip('ai_edge_litert')
  pytest.importorskip('simplejpeg')
  good, _, _ = photo_inputs
  photos = good[:3]
  expected = None
  for copy in (copy_plainly, copy_by_zip, copy_with_equal_times,
               copy_with_the_tflite_older):
    for env in (hidden_tensorflow, None):
      folder = tmp_path / ('%s_%s' % (copy.__name__, 'lite' if env else 'both'))
      copy(korean_model, folder)
      result = run_script('predict.py', *photos,
                          '--output_graph', folder / 'flowers_graph.pb',
                          '--output_labels', folder / 'flowers_labels.txt',
                          '--output_csv', folder / 'scores.csv', '--noshow_image',
                          env=env)
      assert result.returncode == 0, (copy.__name__, result.stderr)
      assert not warnings_of(result), (copy.__name__, result.stderr)
      expected = expected or csv_scores(folder / 'scores.csv')
      assert csv_scores(folder / 'scores.csv') == expected, copy.__name__
  graph_csv = tmp_path / 'graph.csv'
  run_script('predict.py', *photos, '--runtime=tensorflow', '--output_csv', graph_csv,
             '--output_graph', korean_model / 'flowers_graph.pb',
             '--output_labels', korean_model / 'flowers_labels.txt', '--noshow_image')
  assert csv_scores(graph_csv) != expected  # So the runs above were LiteRT's.


def test_a_tflite_from_before_records_is_judged_by_its_time(
    korean_model, photo_inputs, graph_run, tmp_path):
  """A .tflite written before the record existed (its zip holds only the
  labels) works as then: used while not older than the graph; older, one
  warning saying why and what to do, and the graph's scores."""
  copy_plainly(korean_model, tmp_path / 'model')
  model = tmp_path / 'model' / 'flowers_graph.tflite'
  data = model.read_bytes()
  with zipfile.ZipFile(model) as z:
    labels = z.read('flowers_labels.txt')
    start = min(info.header_offset for info in z.infolist())
  with open(model, 'wb') as f:
    f.write(data[:start])
    with zipfile.ZipFile(f, 'w') as z:
      z.writestr('flowers_labels.txt', labels)
  good, _, labels_path = photo_inputs
  photos = good[:3]
  flags = ['--output_graph', tmp_path / 'model' / 'flowers_graph.pb',
           '--output_labels', labels_path, '--noshow_image']
  result = run_script('predict.py', *photos, *flags)
  assert result.returncode == 0 and not warnings_of(result), result.stderr
  graph_time = os.stat(tmp_path / 'model' / 'flowers_graph.pb').st_mtime
  os.utime(model, (graph_time - 60,) * 2)
  result = run_script('predict.py', *photos, *flags)
  assert result.returncode == 0, result.stderr
  (warning,) = warnings_of(result)
  assert 'flowers_graph.tflite is older than' in warning
  assert 'run retrain.py again' in warning
  expected = scores_by_photo(graph_run.stdout)
  assert scores_by_photo(result.stdout) == {p: expected[p] for p in photos}


@pytest.fixture(scope='module')
def another_run(trained, model_dir, tmp_path_factory):
  """A second retrain.py run on the same photos and class names, with
  another seed: its files, whose .tflite belongs with none of trained's."""
  work, _ = trained
  other = tmp_path_factory.mktemp('another_run')
  shutil.copytree(work / 'bottlenecks', other / 'bottlenecks')
  result = run_script('retrain.py', *retrain_args(
      other, work / 'flower_photos', model_dir, 10, '--random_seed=7'))
  assert result.returncode == 0, result.stderr
  return other


def test_a_tflite_of_another_run_is_named_and_never_used(
    trained, another_run, hidden_tensorflow, tmp_path):
  """A .tflite of another run beside a graph and its labels (the same class
  names): auto runs the graph after one warning naming the .tflite;
  --runtime=tensorflow runs the graph; --runtime=litert, or auto without
  TensorFlow, stop with one line naming the .tflite."""
  work, _ = trained
  for name in ('flowers_graph.pb', 'flowers_labels.txt'):
    shutil.copyfile(work / name, tmp_path / name)
  shutil.copyfile(another_run / 'flowers_graph.tflite', tmp_path / 'flowers_graph.tflite')
  photo = work / 'flower_photos' / 'roses' / 'roses_00.jpg'
  flags = ['--output_graph', tmp_path / 'flowers_graph.pb',
           '--output_labels', tmp_path / 'flowers_labels.txt', '--noshow_image']
  by_graph = run_script('predict.py', photo, '--runtime=tensorflow', *flags)
  assert by_graph.returncode == 0 and not warnings_of(by_graph), by_graph.stderr
  by_other = run_script('predict.py', photo, '--runtime=litert', '--output_graph',
                        another_run / 'flowers_graph.pb', '--output_labels',
                        another_run / 'flowers_labels.txt', '--noshow_image')
  assert scores_of(by_other.stdout.splitlines()) != scores_of(by_graph.stdout.splitlines())
  auto = run_script('predict.py', photo, *flags)
  assert auto.returncode == 0, auto.stderr
  (warning,) = warnings_of(auto)
  assert warning.startswith('WARNING: %s was not converted from the graph %s' % (
      tmp_path / 'flowers_graph.tflite', tmp_path / 'flowers_graph.pb'))
  assert scores_of(auto.stdout.splitlines()) == scores_of(by_graph.stdout.splitlines())
  for result in (run_script('predict.py', photo, '--runtime=litert', *flags),
                 run_script('predict.py', photo, *flags, env=hidden_tensorflow)):
    assert_clean_failure(result)
    assert not warnings_of(result)
    (line,) = lines_starting(result.stderr, 'predict.py: error:')
    assert '%s was not converted from the graph' % (tmp_path / 'flowers_graph.tflite') in line


def test_litert_runtime_without_a_tflite_is_a_clean_error(
    trained, tmp_path, hidden_tensorflow):
  """--runtime=litert says what is missing; auto, with nothing to run the
  frozen graph, says so without a warning about the .tflite first."""
  work, _ = trained
  shutil.copy2(work / 'flowers_graph.pb', tmp_path / 'flowers_graph.pb')
  photo = work / 'flower_photos' / 'roses' / 'roses_00.jpg'
  model_flags = ['--output_graph', tmp_path / 'flowers_graph.pb',
                 '--output_labels', work / 'flowers_labels.txt']
  result = run_script('predict.py', photo, *model_flags, '--runtime=litert',
                      env=hidden_tensorflow)
  assert_clean_failure(result)
  (line,) = lines_starting(result.stderr, 'predict.py: error:')
  if 'LiteRT is not installed' not in line:
    assert 'flowers_graph.tflite not found' in line and 'retrain.py' in line
  result = run_script('predict.py', photo, *model_flags, env=hidden_tensorflow)
  assert_clean_failure(result)
  assert not warnings_of(result)
  (line,) = lines_starting(result.stderr, 'predict.py: error:')
  assert 'TensorFlow is not installed' in line and 'pip install' in line


def test_tensorflow_runtime_without_tensorflow_is_a_clean_error(
    trained, hidden_tensorflow):
  work, _ = trained
  result = run_script('predict.py',
                      work / 'flower_photos' / 'roses' / 'roses_00.jpg',
                      '--output_graph', work / 'flowers_graph.pb',
                      '--output_labels', work / 'flowers_labels.txt',
                      '--runtime=tensorflow', env=hidden_tensorflow)
  assert_clean_failure(result)
  (line,) = lines_starting(result.stderr, 'predict.py: error:')
  assert '--runtime=tensorflow' in line and 'pip install tensorflow' in line


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


@pytest.fixture
def xvfb():
  if not screen.available():
    pytest.skip('Xvfb and ImageMagick (Debian: xvfb imagemagick) are not installed')
  with screen.virtual_screen() as display:
    yield display


@pytest.mark.slow
def test_window_shows_the_photo_and_the_bar_chart(trained, xvfb, tmp_path):
  work, _ = trained
  env = dict(os.environ, DISPLAY=xvfb, MPLBACKEND='TkAgg')
  process = subprocess.Popen(
      [sys.executable, os.path.join(ROOT, 'predict.py'),
       str(work / 'flower_photos' / 'sunflowers' / 'sunflowers_04.jpg'),
       '--output_graph', str(work / 'flowers_graph.pb'),
       '--output_labels', str(work / 'flowers_labels.txt')],
      env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  screenshot = tmp_path / 'window.png'
  try:
    # Poll: the window's frame and toolbar show before the figure is drawn.
    deadline = time.time() + 180
    variance = yellow = blue = 0
    while time.time() < deadline and not (variance >= 500 and yellow > 5000
                                          and blue > 500):
      time.sleep(1)
      pixels = screen.screenshot(xvfb, screenshot)
      variance = pixels.var()
      # The photo is yellow-orange noise; the bars are matplotlib's blue.
      yellow = ((pixels[..., 0] > 200) & (pixels[..., 1] > 120) &
                (pixels[..., 2] < 90)).sum()
      blue = screen.blue_pixels(pixels)
    assert process.poll() is None, 'the window closed by itself'
  finally:
    process.kill()
    stdout, _ = process.communicate()
  assert 'cannot be shown' not in stdout
  assert variance >= 500, 'the screen stayed blank'
  assert yellow > 5000 and blue > 500, (yellow, blue)
  if os.environ.get('WINDOW_SCREENSHOT'):
    shutil.copy(screenshot, os.environ['WINDOW_SCREENSHOT'])


def test_labels_of_another_run_beside_the_tflite_are_refused(trained, tmp_path):
  """The labels file of another run, with as many labels as the model: the
  .tflite carries its own, so predict.py stops instead of naming the scores
  wrongly."""
  work, _ = trained
  labels = (work / 'flowers_labels.txt').read_text().split()
  other = tmp_path / 'labels.txt'
  other.write_text('\n'.join(reversed(labels)) + '\n')
  result = run_script('predict.py', work / 'flower_photos' / 'roses' / 'roses_00.jpg',
                      '--output_graph', work / 'flowers_graph.pb',
                      '--output_labels', other, '--noshow_image')
  assert_clean_failure(result)
  assert result.stderr.splitlines()[-1].startswith(
      'predict.py: error: labels file %s is not from the retrain.py run that '
      'wrote %s' % (other, work / 'flowers_graph.pb'))
  assert not scores_of(result.stdout.splitlines())


def test_a_fifo_a_url_and_a_labels_file_with_a_bom_are_handled(trained, tmp_path):
  """A FIFO given or found is named, never opened (it would wait forever);
  a URL says how to get the photo; Notepad's byte-order mark is not part of
  the first label; a code page without Hangul replaces the header's."""
  work, _ = trained
  labels = tmp_path / 'labels.txt'
  labels.write_bytes(b'\xef\xbb\xbf' + (work / 'flowers_labels.txt').read_bytes())
  folder = tmp_path / 'photos'
  folder.mkdir()
  shutil.copy(work / 'flower_photos' / 'daisy' / 'daisy_01.jpg', folder)
  os.mkfifo(folder / 'fifo.jpg')
  table = tmp_path / 'scores.csv'
  result = run_script('predict.py', folder / 'fifo.jpg', folder,
                      'https://example.com/rose.jpg',
                      '--output_graph', work / 'flowers_graph.pb',
                      '--output_labels', labels, '--noshow_image',
                      '--output_csv', table, env={'PYTHONIOENCODING': 'cp1252'},
                      timeout=120)
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr
  errors = [line for line in result.stderr.splitlines() if 'error:' in line]
  assert errors == [
      'predict.py: error: %s: not a regular file (a FIFO, socket or device): '
      'give a photo file' % (folder / 'fifo.jpg'),
      'predict.py: error: https://example.com/rose.jpg: URLs are not read: '
      'download the photo first (say, curl -O URL, or save it from the '
      'browser) and give its path'], result.stderr
  assert 'WARNING: skipped %s: not a regular file' % (folder / 'fifo.jpg') in (
      result.stderr)
  first_label = (work / 'flowers_labels.txt').read_text().split()[0]
  assert '\ufeff' not in result.stdout
  assert result.stdout.startswith('=== ?? ?? ===')
  assert len(scores_of(result.stdout.splitlines())) == 4
  with open(table, encoding='utf-8') as f:
    header, *rows = list(csv.reader(f))
  assert header[3] == first_label
  assert str(folder / 'daisy_01.jpg') in [row[0] for row in rows]


def test_a_quantized_model_prints_the_same_lines_as_the_float_one(
    int8_trained, tmp_path):
  """The int8 .tflite retrain.py kept as the phone model, and the float one
  in its place: the same lines (the scores apart), the same top labels,
  scores a few points apart, and the runtime the same (LiteRT)."""
  work, _ = int8_trained
  float_work = tmp_path / 'float'
  float_work.mkdir()
  for name in ('flowers_graph.pb', 'flowers_labels.txt'):
    shutil.copy2(work / name, float_work / name)
  shutil.copy2(work / 'float.tflite', float_work / 'flowers_graph.tflite')
  photos = [work / 'flower_photos' / name / ('%s_03.jpg' % name)
            for name in ('daisy', 'roses', 'sunflowers', 'tulips')]
  results = [predict(folder, '--noshow_image', '--runtime=litert', *photos)
             for folder in (work, float_work)]
  for result in results:
    assert result.returncode == 0 and not warnings_of(result), result.stderr
  quantized, float_model = (scores_by_photo(r.stdout) for r in results)
  assert list(quantized) == list(float_model) == [str(p) for p in photos]
  for path in quantized:
    assert quantized[path][0][0] == float_model[path][0][0] == path.split('/')[-2]
    assert dict(quantized[path]).keys() == dict(float_model[path]).keys()
    gaps = [abs(score - dict(float_model[path])[name])
            for name, score in quantized[path]]
    assert max(gaps) < 5, (quantized[path], float_model[path])

  def shape(stdout):  # The lines, each score and figure left out.
    return ['score' if SCORE_LINE.match(line) else re.sub(r'[\d.]+', '#', line)
            for line in stdout.splitlines()]
  assert shape(results[0].stdout) == shape(results[1].stdout)
