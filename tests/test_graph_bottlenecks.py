"""retraining/graph/bottlenecks.py: the Inception graph read and checked."""

from retraining import bases, downloads, files, inception
from retraining.graph import runner as graph_runner

import standin
from conftest import MODEL_ARCHIVE, closed_port_url, tiny_graph_bytes


def test_graph_placed_by_hand_is_used_with_one_warning_if_unknown(
    tmp_path, served_dir, monkeypatch, capsys):
  model_dir = tmp_path / 'inception'
  model_dir.mkdir()
  graph = model_dir / standin.GRAPH_FILE_NAME
  graph.write_bytes(tiny_graph_bytes(served_dir / MODEL_ARCHIVE))
  closed = closed_port_url()
  assert downloads.maybe_download_and_extract(str(model_dir), closed) == str(graph)
  graph_def = graph_runner.read_graph(str(graph), bases.INCEPTION_V3)
  assert bases.BATCH_INPUT_NODE in {n.name for n in graph_def.node}  # Used.
  warnings = capsys.readouterr().err.splitlines()
  assert len(warnings) == 1 and str(graph) in warnings[0], warnings
  assert 'sha256' in warnings[0] and 'using it' in warnings[0]
  monkeypatch.setattr(inception, 'GRAPH_SIZE', graph.stat().st_size)
  monkeypatch.setattr(inception, 'GRAPH_SHA256', files.sha256_of(str(graph)))
  graph_runner.read_graph(str(graph), bases.INCEPTION_V3)
  assert capsys.readouterr().err == ''
