"""retraining/graph/bottlenecks.py: the Inception graph read and checked."""

from retraining import downloads, inception
from retraining.graph import bottlenecks

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
  graph_def = bottlenecks.read_inception_graph(str(graph))
  assert inception.BATCH_INPUT_NODE in {n.name for n in graph_def.node}  # Used.
  warnings = capsys.readouterr().err.splitlines()
  assert len(warnings) == 1 and str(graph) in warnings[0], warnings
  assert 'sha256' in warnings[0] and 'using it' in warnings[0]
  monkeypatch.setattr(inception, 'GRAPH_SIZE', graph.stat().st_size)
  monkeypatch.setattr(inception, 'GRAPH_SHA256', downloads.sha256_of(str(graph)))
  bottlenecks.read_inception_graph(str(graph))
  assert capsys.readouterr().err == ''


def test_an_index_that_cannot_be_written_is_one_warning(tmp_path, capsys):
  """A full disk: the index is only a shortcut, so the run goes on."""
  import numpy as np

  from retraining import cache

  from conftest import fill_disk, small_disk
  with small_disk(tmp_path / 'bottlenecks', '64k') as folder:
    fill_disk(folder)
    bottlenecks.save_index(str(folder), ['a/x.jpg.txt'],
                       np.ones((1, inception.BOTTLENECK_TENSOR_SIZE), np.float32))
    assert not (folder / cache.INDEX_FILE_NAME).exists()
  assert capsys.readouterr().err.startswith(
      'WARNING: cannot write the cache index %s (No space left on device)'
      % (tmp_path / 'bottlenecks' / cache.INDEX_FILE_NAME))
