"""The test set's report as text: per-class precision and recall, and the
confusion matrix, in columns that line up in a terminal whatever the
script of the class names."""

import unicodedata

import numpy as np

REPORT_ROW_LABEL_CHARS = 24
REPORT_COLUMN_LABEL_CHARS = 10
ELLIPSIS = '\u2026'


def confusion_matrix(true_labels, predicted_labels, class_count):
  """Counts [true class, predicted class] of each test photo."""
  matrix = np.zeros((class_count, class_count), dtype=np.int64)
  np.add.at(matrix, (np.asarray(true_labels, dtype=np.int64),
                     np.asarray(predicted_labels, dtype=np.int64)), 1)
  return matrix



def format_evaluation_report(matrix, labels):
  """Per-class precision, recall and photo count, then the matrix, as text.

  Precision of a class never predicted, and recall of a class with no test
  photo, are '-': they are undefined, and 'nan' reads like a bug.
  """
  matrix = np.asarray(matrix)
  total = int(matrix.sum())
  correct = int(np.trace(matrix))
  photo_counts = matrix.sum(axis=1)
  predicted_counts = matrix.sum(axis=0)
  rows = [('class', 'precision', 'recall', 'photos')]
  for i, label in enumerate(labels):
    rows.append((shorten(label, REPORT_ROW_LABEL_CHARS),
                 _percent(matrix[i, i], predicted_counts[i]),
                 _percent(matrix[i, i], photo_counts[i]),
                 str(photo_counts[i])))
  rows.append(('total', '', '', str(total)))
  names = [shorten(label, REPORT_COLUMN_LABEL_CHARS) for label in labels]
  matrix_rows = [[''] + names]
  for i, label in enumerate(labels):
    matrix_rows.append([shorten(label, REPORT_ROW_LABEL_CHARS)] +
                       [str(count) for count in matrix[i]])
  return '\n'.join(
      ['Test set: %d photos, accuracy %s (%d correct)'
       % (total, _percent(correct, total), correct), ''] +
      _table(rows) +
      ['', 'Confusion matrix (rows: true class, columns: predicted class)'] +
      _table(matrix_rows)) + '\n'



def format_quantization_check(check, labels, quantized_name):
  """The table of lite/quantization.py's Check: test accuracy of the float
  model and of the quantized one (`quantized_name`, its mode), per class and
  in all, the change in points, and how many photos changed top label."""
  rows = [('class', 'float32', quantized_name, 'change', 'photos')]
  for label, photos, float_correct, quantized_correct in zip(
      labels, check.photos, check.float_correct, check.quantized_correct):
    rows.append(_check_row(shorten(label, REPORT_ROW_LABEL_CHARS), photos,
                           float_correct, quantized_correct))
  total = int(np.sum(check.photos))
  rows.append(_check_row('total', total, int(np.sum(check.float_correct)),
                         int(np.sum(check.quantized_correct))))
  return '\n'.join(
      ['The %s model against the float32 model on the test set, both run '
       'with LiteRT:' % quantized_name, ''] + _table(rows) +
      ['', 'Top label changed on %d of %d test photos (%s).' % (
          check.changed, total, _percent(check.changed, total))]) + '\n'


def _check_row(name, photos, float_correct, quantized_correct):
  change = ('%+.1f' % (100.0 * (int(quantized_correct) - int(float_correct))
                       / photos) if photos else '-')
  return (name, _percent(float_correct, photos),
          _percent(quantized_correct, photos), change, str(photos))



def _percent(part, whole):
  return '%.1f%%' % (100.0 * part / whole) if whole else '-'



def display_width(text):
  """Terminal columns of `text`: Hangul and other wide letters take two."""
  return sum(0 if unicodedata.combining(c) else
             2 if unicodedata.east_asian_width(c) in 'WF' else 1
             for c in text)



def shorten(text, width):
  """`text` cut to `width` display columns, ending in an ellipsis if cut."""
  if display_width(text) <= width:
    return text
  kept = ''
  for c in text:
    if display_width(kept + c) > width - 1:
      break
    kept += c
  return kept + ELLIPSIS



def _table(rows):
  """Lines of aligned columns: the first left-aligned, the others right."""
  widths = [max(display_width(row[i]) for row in rows)
            for i in range(len(rows[0]))]
  lines = []
  for row in rows:
    cells = [row[0] + ' ' * (widths[0] - display_width(row[0]))]
    cells += [' ' * (width - display_width(cell)) + cell
              for cell, width in zip(row[1:], widths[1:])]
    lines.append('  '.join(cells).rstrip())
  return lines
