"""predict.py run as a user runs it, on the model of the `trained` fixture."""

import re

from conftest import assert_clean_failure, run_script

SCORE_LINE = re.compile(r'^(.+) \((\d+\.\d\d)%\)$')
BOOK_HEADER = '=== 예측 결과 ==='


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
  no_display = [l for l in lines if 'No display' in l]
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
  (line,) = [l for l in result.stderr.splitlines()
            if l.startswith('predict.py: error:')]
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
  import numpy as np  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top
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


def test_korean_labels_print_and_draw_without_warnings(trained, tmp_path):
  """Also where no Korean font is installed: the figure brings its own."""
  work, _ = trained
  labels = tmp_path / 'labels.txt'
  labels.write_text('데이지\n장미\n해바라기\n튤립\n', encoding='utf-8')
  figure = tmp_path / 'one.png'
  result = run_script('predict.py', work / 'flower_photos' / 'roses' / 'roses_02.jpg',
                      '--output_graph', work / 'flowers_graph.pb',
                      '--output_labels', labels, '--save_figure', figure,
                      '--noshow_image')
  assert result.returncode == 0, result.stderr
  assert 'cannot be shown' not in result.stdout
  assert sorted(name for name, _ in scores_of(result.stdout.splitlines())) == [
      '데이지', '장미', '튤립', '해바라기']
  assert 'missing from font' not in result.stderr
  assert 'no font here' not in result.stderr
  assert png_stats(figure)[0] == (450, 1000)
