"""retraining/runtimes.py: predict.py's door to the model, in-process: the
labels read once, the runtime chosen, and why one cannot run said once."""

import os
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


@pytest.fixture
def runtimes_used(monkeypatch):
  """The runtimes ('litert', 'tensorflow') whose photo_outputs a model
  opened from now on classifies with, in the order used: where its scores
  come from, whatever runtimes.open_model wraps them in."""
  pytest.importorskip('ai_edge_litert')
  from retraining.graph import runner as graph_runner
  from retraining.lite import runner as litert_runner
  used = []
  for name, runner in (('litert', litert_runner), ('tensorflow', graph_runner)):
    def spy(*args, name=name, real=runner.photo_outputs):
      used.append(name)
      return real(*args)
    monkeypatch.setattr(runner, 'photo_outputs', spy)
  return used


def classify_one(model, trained):
  """The scores `model` gives a photo of the trained model's roses."""
  photo = str(trained[0] / 'flower_photos' / 'roses' / 'roses_03.jpg')
  with model([photo]) as outputs:
    ((path, scores, failure),) = list(outputs)
  assert (path, failure) == (photo, None)
  assert scores.shape == (4,) and abs(float(scores.sum()) - 1) < 1e-4
  return scores


def open_model(runtime, graph, labels, label_count):
  """runtimes.open_model as predict.py calls it, after tflite_beside."""
  tflite = runtimes.tflite_beside(graph, labels, runtimes.read_labels(labels))
  return runtimes.open_model(runtime, graph, labels, label_count, tflite)


@pytest.mark.parametrize('runtime, expected', [
    ('auto', 'litert'), ('litert', 'litert'), ('tensorflow', 'tensorflow')])
def test_each_runtime_asked_for_runs_the_model(trained, tmp_path, capsys,
                                               runtimes_used, runtime, expected):
  """With the .tflite beside the graph: 'auto' runs it with LiteRT, and
  'tensorflow' runs the graph even so; quietly."""
  graph, labels = copy_model(trained, tmp_path)
  classify_one(open_model(runtime, graph, labels, 4), trained)
  assert runtimes_used == [expected]
  assert capsys.readouterr().err == ''


def test_auto_without_a_tflite_runs_the_graph_quietly(trained, tmp_path, capsys,
                                                     runtimes_used):
  graph, labels = copy_model(trained, tmp_path)
  os.remove(tmp_path / 'flowers_graph.tflite')
  classify_one(open_model('auto', graph, labels, 4), trained)
  assert runtimes_used == ['tensorflow']
  assert capsys.readouterr().err == ''


def test_a_tflite_that_does_not_load_falls_back_to_the_graph_once(
    trained, tmp_path, capsys, runtimes_used):
  graph, labels = copy_model(trained, tmp_path)
  (tmp_path / 'flowers_graph.tflite').write_bytes(b'not a model')
  with pytest.raises(UserError, match='--runtime=litert: cannot load'):
    open_model('litert', graph, labels, 4)
  classify_one(open_model('auto', graph, labels, 4), trained)
  assert runtimes_used == ['tensorflow']
  (warning,) = capsys.readouterr().err.splitlines()
  assert 'cannot load' in warning and 'the frozen graph is used instead' in warning
  assert runtimes.REPLACE_IT in warning


def test_another_number_of_labels_is_refused_for_either_runtime(trained, tmp_path):
  pytest.importorskip('ai_edge_litert')
  graph, labels = copy_model(trained, tmp_path)
  with pytest.raises(UserError, match='has 4 outputs but labels file .* has 3 lines'):
    open_model('litert', graph, labels, 3)
  with pytest.raises(UserError, match='use the two files of the same retrain.py run'):
    open_model('tensorflow', graph, labels, 3)


def test_a_byte_order_mark_is_not_part_of_the_first_label(tmp_path):
  labels = tmp_path / 'labels.txt'
  labels.write_bytes('\ufeffdaisy\r\n장미\r\n'.encode('utf-8'))  # As Notepad saves.
  assert runtimes.read_labels(str(labels)) == ['daisy', '장미']
