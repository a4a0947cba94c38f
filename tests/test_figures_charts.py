"""retraining/figures/charts.py: the training chart, the confusion matrix
and predict.py's figure, as PNG files and through pyplot."""

import os
import shutil
import sys

import matplotlib
import numpy as np
import pytest
from PIL import Image

from retraining.figures import charts, report

from conftest import make_photo

matplotlib.use('Agg')


BLANK_VARIANCE = 50.0


# Set CHARTS_PREVIEW_DIR to keep copies of the PNGs to look at.
PREVIEW_DIR = os.environ.get('CHARTS_PREVIEW_DIR')


KOREAN_LABELS = ['데이지', '민들레', '장미', '튤립', '해바라기']


def check_png(path, size):
  with Image.open(path) as image:
    assert image.format == 'PNG'
    assert image.size == size
    pixels = np.asarray(image.convert('L'), dtype=np.float64)
  assert pixels.var() > BLANK_VARIANCE, 'the chart is blank'
  assert not [n for n in os.listdir(os.path.dirname(path)) if n.endswith('.tmp')]
  if PREVIEW_DIR:
    os.makedirs(PREVIEW_DIR, exist_ok=True)
    shutil.copy(path, PREVIEW_DIR)


def training_history(steps=400, validation=True):
  rng = np.random.RandomState(0)
  step = list(range(0, steps * 10, 10))
  progress = 1 - np.exp(-np.arange(steps) / 80.0)
  history = {
      'step': step,
      'train_accuracy': list(np.clip(0.3 + 0.65 * progress +
                                     rng.randn(steps) * 0.03, 0, 1)),
      'cross_entropy': list(1.4 * (1 - progress) + 0.2 +
                            rng.rand(steps) * 0.05)}
  if validation:
    history['validation_accuracy'] = list(np.clip(
        0.25 + 0.6 * progress + rng.randn(steps) * 0.05, 0, 1))
  return history


def test_training_chart_of_400_points(tmp_path):
  path = str(tmp_path / 'training_chart.png')
  charts.save_training_chart(training_history(), (0.88, 359), path)
  check_png(path, (1100, 450))


def test_training_chart_without_validation_or_test_set(tmp_path):
  path = str(tmp_path / 'no_test.png')
  charts.save_training_chart(training_history(50, validation=False), None,
                             path)
  check_png(path, (1100, 450))


def test_training_chart_replaces_old_file(tmp_path):
  path = tmp_path / 'chart.png'
  path.write_bytes(b'old')
  charts.save_training_chart(training_history(10), (0.5, 4), str(path))
  check_png(str(path), (1100, 450))


def test_confusion_matrix_png(tmp_path):
  path = str(tmp_path / 'confusion_matrix.png')
  charts.save_confusion_matrix(np.array([[3, 0, 0], [1, 0, 2], [1, 0, 3]]),
                               ['daisy', 'roses', 'tulips'], path)
  check_png(path, (600, 600))


def test_confusion_matrix_png_many_korean_classes(tmp_path):
  labels = ['꽃 %d' % i for i in range(50)]
  matrix = report.confusion_matrix(np.arange(500) % 50,
                                   (np.arange(500) * 7) % 50, 50)
  path = str(tmp_path / 'many.png')
  charts.save_confusion_matrix(matrix, labels, path)
  check_png(path, (2000, 2000))


def scores_for(label_count, best, seed=0):
  rng = np.random.RandomState(seed)
  scores = rng.rand(label_count)
  scores[best] = label_count
  return scores / scores.sum()


@pytest.mark.parametrize('label_count,top_k,expected', [
    (3, None, 3), (10, None, 10), (11, None, 5), (12, None, 5),
    (12, 8, 8), (3, 2, 2), (3, 7, 3)])
def test_shown_label_indices(label_count, top_k, expected):
  scores = scores_for(label_count, best=label_count - 1)
  indices = charts.shown_label_indices(scores, top_k)
  assert len(indices) == expected
  assert indices[0] == label_count - 1
  assert list(indices) == sorted(indices, key=lambda i: -scores[i])


def test_one_photo_figure(tmp_path):
  photo = make_photo(str(tmp_path / 'roses' / 'rose_1.jpg'), (200, 30, 40), 1)
  labels = ['label %d' % i for i in range(12)]
  path = str(tmp_path / 'prediction.png')
  charts.save_prediction_figure([(photo, scores_for(12, 3))], labels, path)
  check_png(path, (1000, 450))


def test_one_photo_figure_is_upright(tmp_path, monkeypatch):
  """A JPEG with an EXIF rotation is drawn as Pillow turns it, not raw."""
  photo = str(tmp_path / 'rotated.jpg')
  exif = Image.Exif()
  exif[0x0112] = 6  # Rotate 90 degrees clockwise to view.
  Image.new('RGB', (60, 20), (200, 30, 40)).save(photo, exif=exif)
  drawn = []
  monkeypatch.setattr(
      'matplotlib.axes.Axes.imshow',
      lambda self, image, *a, **k: drawn.append(np.asarray(image).shape))
  charts.save_prediction_figure([(photo, scores_for(2, 0))], ['a', 'b'],
                                str(tmp_path / 'p.png'))
  assert drawn == [(60, 20, 3)]


def test_grid_of_30_shows_the_first_25(tmp_path, monkeypatch):
  labels = ['daisy', 'roses', 'tulips']
  results = [(make_photo(str(tmp_path / 'p' / ('photo_%02d.png' % i)),
                         (40 * (i % 6), 80, 200 - 5 * i), i),
              scores_for(3, i % 3, seed=i)) for i in range(30)]
  titles = []
  original = matplotlib.figure.Figure.suptitle
  def record(fig, text, **kwargs):
    titles.append(text)
    return original(fig, text, **kwargs)
  monkeypatch.setattr(matplotlib.figure.Figure, 'suptitle', record)
  path = str(tmp_path / 'grid.png')
  charts.save_prediction_figure(results, labels, path)
  assert titles == ['first 25 of 30 photos']
  check_png(path, (1250, 1300))  # 5 x 5 cells and the title.


def test_grid_of_a_few_photos_and_an_unreadable_one(tmp_path):
  photo = make_photo(str(tmp_path / 'a.jpg'), (230, 230, 60), 2)
  broken = tmp_path / 'broken.jpg'
  broken.write_bytes(b'\xff\xd8\xff not really a jpeg')
  path = str(tmp_path / 'few.png')
  charts.save_prediction_figure(
      [(photo, scores_for(2, 0)), (str(broken), scores_for(2, 1)),
       (photo, scores_for(2, 1))], ['daisy', 'roses'], path)
  check_png(path, (500, 550))  # 2 x 2 cells, one left empty.


def test_show_goes_through_pyplot(tmp_path, monkeypatch):
  import matplotlib.pyplot as plt
  photo = make_photo(str(tmp_path / 'a.jpg'), (230, 230, 60), 2)
  shown = []
  monkeypatch.setattr(plt, 'show', lambda: shown.append(plt.get_fignums()))
  assert charts.save_prediction_figure(
      [(photo, scores_for(2, 0))], ['daisy', 'roses'], show=True) is None
  assert len(shown) == 1 and len(shown[0]) == 1
  assert plt.get_fignums() == []  # Closed once the window is.


def test_saving_leaves_no_pyplot_figure(tmp_path):
  import matplotlib.pyplot as plt
  photo = make_photo(str(tmp_path / 'a.jpg'), (230, 230, 60), 2)
  charts.save_prediction_figure([(photo, scores_for(2, 0))], ['a', 'b'],
                                str(tmp_path / 'p.png'))
  charts.save_training_chart(training_history(5), None,
                             str(tmp_path / 't.png'))
  assert plt.get_fignums() == []


def test_can_show_windows(monkeypatch):
  monkeypatch.delenv('DISPLAY', raising=False)
  monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
  if sys.platform.startswith('linux'):
    assert charts.can_show_windows() is False
  monkeypatch.setenv('DISPLAY', ':99')
  assert charts.can_show_windows() is False  # The backend is Agg.
