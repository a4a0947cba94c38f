"""retraining/runtimes.py: predict.py's door to the model, in-process: the
labels read once, the runtime chosen, and why one cannot run said once."""

import shutil

import pytest

from retraining import UserError, runtimes


def test_labels_are_the_lines_in_order_blank_ones_left_out(tmp_path):
  labels = tmp_path / 'labels.txt'
  labels.write_text('daisy\n\n장미\r\ntulips\n', encoding='utf-8')
  assert runtimes.read_labels(str(labels)) == ['daisy', '장미', 'tulips']


def test_a_missing_or_unreadable_labels_file_is_one_clear_error(tmp_path):
  with pytest.raises(UserError, match='not found: run retrain.py first'):
    runtimes.read_labels(str(tmp_path / 'none.txt'))
  (tmp_path / 'latin1.txt').write_bytes(b'caf\xe9\n')
  with pytest.raises(UserError, match='cannot read labels file'):
    runtimes.read_labels(str(tmp_path / 'latin1.txt'))


def copy_model(trained, folder):
  work, _ = trained
  for name in ('flowers_graph.pb', 'flowers_labels.txt', 'flowers_graph.tflite'):
    shutil.copy2(work / name, folder / name)
  return str(folder / 'flowers_graph.pb'), str(folder / 'flowers_labels.txt')


def test_a_tflite_that_does_not_load_falls_back_to_the_graph_once(
    trained, tmp_path, capsys):
  pytest.importorskip('ai_edge_litert')
  graph, labels = copy_model(trained, tmp_path)
  (tmp_path / 'flowers_graph.tflite').write_bytes(b'not a model')
  with pytest.raises(UserError, match='--runtime=litert: cannot load'):
    runtimes.open_model('litert', graph, labels, 4)
  assert runtimes.open_model('auto', graph, labels, 4)
  (warning,) = capsys.readouterr().err.splitlines()
  assert 'cannot load' in warning and 'the frozen graph is used instead' in warning
  assert runtimes.REPLACE_IT in warning


def test_another_number_of_labels_is_refused_for_either_runtime(trained, tmp_path):
  pytest.importorskip('ai_edge_litert')
  graph, labels = copy_model(trained, tmp_path)
  with pytest.raises(UserError, match='has 4 outputs but labels file .* has 3 lines'):
    runtimes.open_model('litert', graph, labels, 3)
  with pytest.raises(UserError, match='use the two files of the same retrain.py run'):
    runtimes.open_model('tensorflow', graph, labels, 3)


def test_a_byte_order_mark_is_not_part_of_the_first_label(tmp_path):
  labels = tmp_path / 'labels.txt'
  labels.write_bytes('\ufeffdaisy\r\n장미\r\n'.encode('utf-8'))  # As Notepad saves.
  assert runtimes.read_labels(str(labels)) == ['daisy', '장미']
