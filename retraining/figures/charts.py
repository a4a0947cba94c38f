"""The figures: the training chart, the confusion matrix and the
prediction window (a photo and its scores, or a grid of photos).

Matplotlib is imported inside the functions: it costs time at start-up and
only runs that draw something need it. Figures saved to files are drawn on
their own Agg canvas, never through pyplot, so they work headless whatever
the backend is and leave no open figure behind; only a figure that is shown
in a window goes through pyplot. Which backend to use is the caller's choice.
"""

import math
import os
import sys

import numpy as np
from PIL import Image

from retraining import decoding, files, log, warn
from retraining.figures.fonts import fonts_for
from retraining.figures.report import ELLIPSIS, shorten

DPI = 100
TRAINING_CHART_INCHES = (11, 4.5)
PREDICTION_CHART_INCHES = (10, 4.5)
GRID_CELL_INCHES = 2.5
GRID_TITLE_INCHES = 0.5
MATRIX_INCHES_PER_CLASS = 0.45
MATRIX_INCHES_RANGE = (6, 20)
MAX_ANNOTATED_CLASSES = 40  # Beyond that the counts no longer fit their cells.
ALL_BARS_UP_TO = 10  # Labels shown as bars when there are no more than this.
DEFAULT_TOP_K = 5
THUMBNAIL_PIXELS = 512  # Longest side of a photo once in a figure.
TITLE_FONT_SIZE = 8  # Grid titles: small, still readable at DPI.
LABEL_CHARS = 24
GRID_LABEL_CHARS = 20
FILE_NAME_CHARS = 28


def save_training_figures(history, evaluation, labels, output_graph):
  """The training chart, and the test set's confusion matrix if there was a
  test set, beside the output graph; one warning where they cannot be
  written (they are a side output: the model is saved by then)."""
  saved = [files.beside(output_graph, '_training.png')]
  try:
    save_training_chart(
        history, evaluation and (evaluation.accuracy, evaluation.count), saved[0])
    if evaluation:
      saved.append(files.beside(output_graph, '_confusion.png'))
      save_confusion_matrix(evaluation.matrix, labels, saved[1])
  except OSError as e:
    warn('cannot write the chart %s (%s)' % (saved[-1], e.strerror or e))
    return
  log('Saved %s' % ' and '.join(saved))


def save_training_chart(history, test_accuracy, path):
  """Saves accuracy and cross-entropy against training step as a PNG.

  `history` holds lists 'step', 'train_accuracy', 'cross_entropy' and
  optionally 'validation_accuracy' (fractions); `test_accuracy` is
  (fraction, photo count), or None when there was no test set.
  """
  steps = history['step']
  with fonts_for(()):
    fig = _agg_figure(TRAINING_CHART_INCHES)
    accuracy_axes, entropy_axes = fig.subplots(1, 2)
    accuracy_axes.plot(steps, 100 * np.asarray(history['train_accuracy']),
                       label='train')
    validation = history.get('validation_accuracy')
    if validation is not None and len(validation):
      accuracy_axes.plot(steps, 100 * np.asarray(validation),
                         label='validation')
    accuracy_axes.set(title='Accuracy', xlabel='step', ylabel='accuracy (%)',
                      ylim=(0, 101))
    accuracy_axes.legend(loc='lower right')
    entropy_axes.plot(steps, history['cross_entropy'], color='tab:red')
    entropy_axes.set(title='Cross-entropy (training batch)', xlabel='step',
                     ylabel='cross-entropy')
    entropy_axes.set_ylim(bottom=0)
    for axes in (accuracy_axes, entropy_axes):
      axes.grid(alpha=0.3)
    if test_accuracy is None:
      fig.suptitle('No test set: final test accuracy not measured')
    else:
      fig.suptitle('Final test accuracy %.1f%% (N=%d)'
                   % (100 * test_accuracy[0], test_accuracy[1]))
    _save_png(fig, path)


def save_confusion_matrix(matrix, labels, path):
  """Saves the confusion matrix as a heatmap with counts in the cells."""
  from matplotlib.ticker import MaxNLocator
  matrix = np.asarray(matrix)
  class_count = len(labels)
  inches = min(max(MATRIX_INCHES_RANGE[0],
                   2.5 + MATRIX_INCHES_PER_CLASS * class_count),
               MATRIX_INCHES_RANGE[1])
  names = [shorten(label, LABEL_CHARS) for label in labels]
  with fonts_for(names):
    fig = _agg_figure((inches, inches))
    axes = fig.subplots()
    image = axes.imshow(matrix, cmap='Blues', vmin=0)
    colorbar = fig.colorbar(image, ax=axes, shrink=0.8, label='photos')
    colorbar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ticks = np.arange(class_count)
    axes.set_xticks(ticks, names, rotation=45, ha='right',
                    rotation_mode='anchor')
    axes.set_yticks(ticks, names)
    axes.set(xlabel='predicted class', ylabel='true class',
             title='Confusion matrix (N=%d)' % matrix.sum())
    if class_count <= MAX_ANNOTATED_CLASSES:
      threshold = matrix.max() / 2
      for (i, j), count in np.ndenumerate(matrix):
        axes.text(j, i, str(count), ha='center', va='center',
                  color='white' if count > threshold else 'black',
                  fontsize='small' if class_count > 15 else 'medium')
    _save_png(fig, path)


def save_prediction_figure(results, labels, path=None, top_k=None, show=False,
                           max_photos=25):
  """Draws the photos with their top label; saves and/or shows the figure.

  `results` is [(photo path, scores)]. One photo is drawn beside a bar chart
  of its top scores; several as a grid of at most `max_photos`. `show` opens
  a pyplot window: whether that is possible is the caller's question (see
  can_show_windows).
  """
  shown = results[:max_photos]
  if len(shown) == 1:
    inches = PREDICTION_CHART_INCHES
  else:
    columns, rows = _grid_shape(len(shown))
    inches = (columns * GRID_CELL_INCHES,
              rows * GRID_CELL_INCHES + GRID_TITLE_INCHES)
  texts = list(labels) + [os.path.basename(path) for path, _ in shown]
  with fonts_for(texts):
    if show:
      import matplotlib.pyplot as plt
      fig = plt.figure(figsize=inches, dpi=DPI, layout='constrained')
    else:
      fig = _agg_figure(inches)
    if len(shown) == 1:
      _draw_one_prediction(fig, shown[0], labels, top_k)
    else:
      _draw_prediction_grid(fig, shown, labels, len(results))
    if path:
      _save_png(fig, path)
    if show:
      plt.show()
      plt.close(fig)


def can_show_windows():
  """True when matplotlib's backend can open a window on this machine.

  On Linux a GUI backend needs an X or Wayland display; without one this
  answers before matplotlib picks a backend, so pyplot is not imported then.
  """
  if sys.platform.startswith('linux') and not (
      os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
    return False
  import matplotlib
  from matplotlib.backends import BackendFilter, backend_registry
  # With no backend chosen yet this resolves one, importing pyplot.
  backend = matplotlib.get_backend().lower()
  return backend in backend_registry.list_builtin(BackendFilter.INTERACTIVE)


def shown_label_indices(scores, top_k=None):
  """Indices of the labels to draw as bars, highest score first.

  All labels when there are at most ALL_BARS_UP_TO, else the DEFAULT_TOP_K
  best; an explicit `top_k` always wins.
  """
  label_count = len(scores)
  if top_k is None:
    top_k = label_count if label_count <= ALL_BARS_UP_TO else DEFAULT_TOP_K
  return np.argsort(-np.asarray(scores), kind='stable')[:top_k]


def _draw_one_prediction(fig, result, labels, top_k):
  photo_path, scores = result
  scores = np.asarray(scores)
  photo_axes, bar_axes = fig.subplots(1, 2, width_ratios=(1, 1.2))
  indices = shown_label_indices(scores, top_k)
  _draw_photo(photo_axes, photo_path, _top_title(scores, labels, LABEL_CHARS))
  photo_axes.title.set_fontsize('large')
  bars = bar_axes.barh(np.arange(len(indices)), 100 * scores[indices],
                       color='tab:blue')
  bar_axes.bar_label(bars, fmt='%.1f%%', padding=3)
  bar_axes.set_yticks(np.arange(len(indices)),
                      [shorten(labels[i], LABEL_CHARS) for i in indices])
  bar_axes.invert_yaxis()  # Highest score at the top.
  bar_axes.set(xlim=(0, 115), xlabel='score (%)',
               title=('top %d of %d labels' % (len(indices), len(labels))
                      if len(indices) < len(labels) else 'scores'))
  bar_axes.spines[['top', 'right']].set_visible(False)
  fig.suptitle(_shorten_middle(os.path.basename(photo_path), 60),
               fontsize='medium')


def _draw_prediction_grid(fig, shown, labels, result_count):
  columns, rows = _grid_shape(len(shown))
  grid = fig.subplots(rows, columns, squeeze=False)
  for axes in grid.flat[len(shown):]:
    axes.set_axis_off()
  for axes, (photo_path, scores) in zip(grid.flat, shown):
    title = '%s\n%s' % (
        _shorten_middle(os.path.basename(photo_path), FILE_NAME_CHARS),
        _top_title(scores, labels, GRID_LABEL_CHARS))
    _draw_photo(axes, photo_path, title)
    axes.title.set_fontsize(TITLE_FONT_SIZE)
  if result_count > len(shown):
    fig.suptitle('first %d of %d photos' % (len(shown), result_count))
  else:
    fig.suptitle('%d photos' % result_count)


def _draw_photo(axes, photo_path, title):
  """The photo, upright and RGB, or a note where it cannot be decoded."""
  axes.set_axis_off()
  axes.set_title(title)
  try:
    pixels = decoding.decode_with_pillow(photo_path)
  except decoding.BadPhoto as e:
    axes.text(0.5, 0.5, 'cannot show the photo:\n%s' % shorten(str(e), 40),
              ha='center', va='center', wrap=True, fontsize=TITLE_FONT_SIZE,
              transform=axes.transAxes)
    return
  image = Image.fromarray(pixels)
  image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))  # Bounds memory.
  axes.imshow(image)


def _top_title(scores, labels, label_chars):
  best = int(np.argmax(scores))
  return '%s %.1f%%' % (shorten(labels[best], label_chars), 100 * scores[best])


def _grid_shape(photo_count):
  columns = math.ceil(math.sqrt(photo_count))
  return columns, math.ceil(photo_count / columns)


def _agg_figure(inches):
  """A figure drawn on its own Agg canvas, outside pyplot's bookkeeping."""
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure
  fig = Figure(figsize=inches, dpi=DPI, layout='constrained')
  FigureCanvasAgg(fig)
  return fig


def _save_png(fig, path):
  with files.atomic_write(path, 'wb') as f:
    fig.savefig(f, format='png', dpi=DPI)


def _shorten_middle(text, width):
  """Keeps both ends, where file names usually differ (numbers, extension)."""
  if len(text) <= width:
    return text
  tail = (width - 1) // 2
  return text[:width - 1 - tail] + ELLIPSIS + text[len(text) - tail:]
