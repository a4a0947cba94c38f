"""Downloads of the model and the photos, served from a loopback server."""

import os
import socket
import tarfile

import pytest

from conftest import (MODEL_ARCHIVE, assert_clean_failure, make_photo_tree,
                      retrain_args, run_script)
import standin
from retraining import UserError, files


def closed_port_url():
  """A loopback URL nothing listens on: any download from it fails."""
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
  return 'http://127.0.0.1:%d/%s' % (port, MODEL_ARCHIVE)


def test_model_is_downloaded_once_then_used_offline(tmp_path, server_url):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=5)
  model_dir = tmp_path / 'inception'
  args = retrain_args(tmp_path, photos, model_dir, 2)
  result = run_script('retrain.py', *args,
                      '--model_url=%s/%s' % (server_url, MODEL_ARCHIVE))
  assert result.returncode == 0, result.stderr
  assert 'Downloading ' + MODEL_ARCHIVE in result.stderr
  assert (model_dir / standin.GRAPH_FILE_NAME).exists()
  assert (model_dir / MODEL_ARCHIVE).exists()
  assert not [n for n in os.listdir(model_dir) if n.endswith('.tmp')]

  mtime = (model_dir / standin.GRAPH_FILE_NAME).stat().st_mtime_ns
  again = run_script('retrain.py', *args, '--model_url', closed_port_url())
  assert again.returncode == 0, again.stderr
  assert 'Downloading' not in again.stderr
  assert (model_dir / standin.GRAPH_FILE_NAME).stat().st_mtime_ns == mtime


def test_archive_already_present_is_extracted_without_network(tmp_path, served_dir):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=5)
  model_dir = tmp_path / 'inception'
  model_dir.mkdir()
  (model_dir / MODEL_ARCHIVE).write_bytes((served_dir / MODEL_ARCHIVE).read_bytes())
  result = run_script('retrain.py', *retrain_args(tmp_path, photos, model_dir, 2),
                      '--model_url', closed_port_url())
  assert result.returncode == 0, result.stderr
  assert (model_dir / standin.GRAPH_FILE_NAME).exists()


def test_offline_without_model_says_what_to_place_where(tmp_path):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=5)
  model_dir = tmp_path / 'inception'
  result = run_script('retrain.py', *retrain_args(tmp_path, photos, model_dir, 2),
                      '--model_url', closed_port_url())
  assert_clean_failure(result)
  message = [l for l in result.stderr.splitlines()
             if l.startswith('retrain.py: error:')]
  assert len(message) == 1
  assert standin.GRAPH_FILE_NAME in message[0] and str(model_dir) in message[0]


def test_http_error_is_one_clear_line(tmp_path, server_url):
  photos = make_photo_tree(str(tmp_path / 'photos'), per_class=5)
  result = run_script('retrain.py', *retrain_args(
      tmp_path, photos, tmp_path / 'inception', 2),
                      '--model_url=%s/missing.tgz' % server_url)
  assert_clean_failure(result)
  assert 'HTTP 404' in result.stderr


def test_default_image_dir_downloads_the_flowers(tmp_path, served_dir,
                                                 server_url, model_dir):
  """The README's first command: no --image_dir, the photos are fetched."""
  source = tmp_path / 'source'
  make_photo_tree(str(source / 'flower_photos'), per_class=5)
  (source / 'flower_photos' / 'LICENSE.txt').write_text('CC-BY')
  with tarfile.open(served_dir / 'flower_photos.tgz', 'w:gz') as tar:
    tar.add(source / 'flower_photos', arcname='flower_photos')
  work = tmp_path / 'work'
  work.mkdir()
  result = run_script('retrain.py', '--how_many_training_steps=2',
                      '--model_dir', model_dir,
                      '--flowers_url=%s/flower_photos.tgz' % server_url,
                      cwd=str(work))
  assert result.returncode == 0, result.stderr
  workspace = work / 'workspace'
  assert len(list((workspace / 'flower_photos').glob('*/*.jpg'))) == 20
  assert (workspace / 'flowers_graph.pb').exists()
  assert (workspace / 'flowers_labels.txt').read_text().split() == [
      'daisy', 'roses', 'sunflowers', 'tulips']
  assert list((workspace / 'bottlenecks').glob('*/*.txt'))
  assert list((workspace / 'retrain_logs' / 'train').glob('events*'))


@pytest.fixture
def retrain_module():
  """retrain.py imported in this process, for its download step alone."""
  import retrain  # pylint: disable=g-import-not-at-top
  return retrain


def test_default_archive_is_checked_by_digest(tmp_path, served_dir, server_url,
                                              retrain_module, monkeypatch):
  """From the default URL, an archive of the right size but another digest
  is one clear error and is not kept; the right one is extracted."""
  url = '%s/%s' % (server_url, MODEL_ARCHIVE)
  served = served_dir / MODEL_ARCHIVE
  monkeypatch.setattr(retrain_module, 'DATA_URL', url)
  monkeypatch.setattr(retrain_module, 'DATA_SIZE', served.stat().st_size)
  model_dir = tmp_path / 'inception'
  with pytest.raises(UserError, match='expected sha256.*not kept.*run again'):
    retrain_module.maybe_download_and_extract(str(model_dir), url)
  assert os.listdir(model_dir) == []

  (model_dir / MODEL_ARCHIVE).write_bytes(b'x' * served.stat().st_size)
  monkeypatch.setattr(retrain_module, 'DATA_SHA256', files.sha256_of(served))
  graph_path = retrain_module.maybe_download_and_extract(str(model_dir), url)
  assert open(graph_path, 'rb').read() == tiny_graph_bytes(served)
  assert files.sha256_of(str(model_dir / MODEL_ARCHIVE)) == files.sha256_of(served)


def tiny_graph_bytes(archive):
  with tarfile.open(archive) as tar:
    return tar.extractfile(standin.GRAPH_FILE_NAME).read()


def test_graph_placed_by_hand_is_used_with_one_warning_if_unknown(
    tmp_path, served_dir, retrain_module, monkeypatch, capsys):
  model_dir = tmp_path / 'inception'
  model_dir.mkdir()
  graph = model_dir / standin.GRAPH_FILE_NAME
  graph.write_bytes(tiny_graph_bytes(served_dir / MODEL_ARCHIVE))
  closed = closed_port_url()
  assert retrain_module.maybe_download_and_extract(str(model_dir), closed) == str(graph)
  warnings = capsys.readouterr().err.splitlines()
  assert len(warnings) == 1 and str(graph) in warnings[0], warnings
  assert 'sha256' in warnings[0] and 'using it' in warnings[0]
  monkeypatch.setattr(retrain_module, 'GRAPH_SIZE', graph.stat().st_size)
  monkeypatch.setattr(retrain_module, 'GRAPH_SHA256', files.sha256_of(str(graph)))
  retrain_module.maybe_download_and_extract(str(model_dir), closed)
  assert capsys.readouterr().err == ''
