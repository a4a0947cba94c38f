"""retraining/figures/report.py: the test set's text report."""

import numpy as np

from retraining.figures import charts, report

# Three classes, ten test photos: 'roses' is never predicted.
LABELS = ['daisy', 'roses', 'tulips']


TRUE = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]


PREDICTED = [0, 0, 0, 0, 2, 2, 2, 2, 0, 2]


EXPECTED_MATRIX = [[3, 0, 0],
                   [1, 0, 2],
                   [1, 0, 3]]


def test_confusion_matrix_counts():
  matrix = report.confusion_matrix(TRUE, PREDICTED, 3)
  assert matrix.tolist() == EXPECTED_MATRIX
  assert np.issubdtype(matrix.dtype, np.integer)
  assert report.confusion_matrix([], [], 2).tolist() == [[0, 0], [0, 0]]


def test_report_numbers():
  text = report.format_evaluation_report(np.array(EXPECTED_MATRIX), LABELS)
  lines = text.splitlines()
  assert lines[0] == 'Test set: 10 photos, accuracy 60.0% (6 correct)'
  start = lines.index(
      'Confusion matrix (rows: true class, columns: predicted class)')
  rows = {line.split()[0]: line.split()[1:] for line in lines[:start]
          if line.split() and line.split()[0] in LABELS}
  # precision = diagonal / column sum, recall = diagonal / row sum.
  assert rows['daisy'][:3] == ['60.0%', '100.0%', '3']
  assert rows['roses'][:3] == ['-', '0.0%', '3']
  assert rows['tulips'][:3] == ['60.0%', '75.0%', '4']
  assert sum(int(rows[label][2]) for label in LABELS) == 10
  assert 'nan' not in text
  assert lines[start + 1].split() == LABELS
  matrix_rows = [line.split() for line in lines[start + 2:]]
  assert matrix_rows == [[label] + [str(n) for n in row]
                         for label, row in zip(LABELS, EXPECTED_MATRIX)]
  total = [line for line in lines if line.startswith('total')]
  assert total[0].split() == ['total', '10']


def test_report_recall_of_a_class_without_test_image_lists():
  text = report.format_evaluation_report(np.array([[2, 0], [0, 0]]),
                                         ['cats', 'dogs'])
  dogs = [line.split() for line in text.splitlines()
          if line.startswith('dogs')][0]
  assert dogs == ['dogs', '-', '-', '0']


def test_report_aligns_korean_and_shortens_long_labels():
  labels = ['장미', 'a very long label for a class of flowers', 'tulips']
  text = report.format_evaluation_report(np.array(EXPECTED_MATRIX), labels)
  lines = text.splitlines()
  table = lines[2:2 + len(labels) + 2]  # Heading, classes, total.
  assert table[0].startswith('class')
  widths = {report.display_width(line) for line in table}
  assert len(widths) == 1, table  # Right-aligned columns line up.
  assert all(report.display_width(line) <= 80 for line in lines), text
  assert 'a very long label for a' in text
  assert 'a very long label for a class of flowers' not in text
  assert report.ELLIPSIS in text


def test_display_width_and_shorten():
  assert report.display_width('장미') == 4
  assert report.display_width('roses') == 5
  assert report.shorten('장미장미장미', 7) == '장미장' + report.ELLIPSIS
  assert report.shorten('roses', 5) == 'roses'
  assert charts._shorten_middle('flower_photo_000123.jpg', 11) == (
      'flowe' + report.ELLIPSIS + '3.jpg')


def test_quantization_check_table():
  """Per class and in all: both accuracies, the change in points, the
  photos; then how many photos changed their top label."""
  from retraining.lite import quantization
  check = quantization.counted('int8', TRUE, PREDICTED,
                               [0, 0, 1, 0, 2, 2, 2, 2, 0, 0], 3, 1.0)
  assert report.format_quantization_check(check, LABELS, 'int8') == '''\
The int8 model against the float32 model on the test set, both run with LiteRT:

class   float32   int8  change  photos
daisy    100.0%  66.7%   -33.3       3
roses      0.0%   0.0%    +0.0       3
tulips    75.0%  50.0%   -25.0       4
total     60.0%  40.0%   -20.0      10

Top label changed on 2 of 10 test photos (20.0%).
'''
