"""retraining/downloads.py: downloads and archives, from a loopback server."""

import os
import socket
import tarfile

import pytest

from retraining import UserError, downloads, files, inception

import standin
from conftest import MODEL_ARCHIVE, serve_folder


def test_default_archive_is_checked_by_digest(tmp_path, served_dir, server_url,
                                              monkeypatch):
  """From the default URL, an archive of the right size but another digest
  is one clear error and is not kept; the right one is extracted."""
  url = '%s/%s' % (server_url, MODEL_ARCHIVE)
  served = served_dir / MODEL_ARCHIVE
  monkeypatch.setattr(inception, 'ARCHIVE_URL', url)
  monkeypatch.setattr(inception, 'ARCHIVE_SIZE', served.stat().st_size)
  model_dir = tmp_path / 'inception'
  with pytest.raises(UserError, match='expected sha256.*not kept.*run again'):
    downloads.maybe_download_and_extract(str(model_dir), url)
  assert os.listdir(model_dir) == []

  (model_dir / MODEL_ARCHIVE).write_bytes(b'x' * served.stat().st_size)
  monkeypatch.setattr(inception, 'ARCHIVE_SHA256', files.sha256_of(served))
  graph_path = downloads.maybe_download_and_extract(str(model_dir), url)
  assert open(graph_path, 'rb').read() == tiny_graph_bytes(served)
  assert files.sha256_of(str(model_dir / MODEL_ARCHIVE)) == files.sha256_of(served)


def tiny_graph_bytes(archive):
  with tarfile.open(archive) as tar:
    return tar.extractfile(standin.GRAPH_FILE_NAME).read()


def test_truncated_download_is_refetched_on_the_next_run(tmp_path, served_dir,
                                                        server_url):
  """The server stops halfway; nothing is kept, and the next run succeeds."""
  whole = (served_dir / MODEL_ARCHIVE).read_bytes()
  broken = tmp_path / 'served_broken'
  broken.mkdir()
  (broken / MODEL_ARCHIVE).write_bytes(whole[:len(whole) // 2])
  model_dir = tmp_path / 'inception'
  with serve_folder(broken) as url, pytest.raises(UserError):
    downloads.maybe_download_and_extract(str(model_dir), '%s/%s' % (url, MODEL_ARCHIVE))
  assert os.listdir(model_dir) == []
  graph_path = downloads.maybe_download_and_extract(
      str(model_dir), '%s/%s' % (server_url, MODEL_ARCHIVE))
  assert open(graph_path, 'rb').read() == tiny_graph_bytes(served_dir / MODEL_ARCHIVE)


def test_connection_cut_mid_download_is_detected(tmp_path):
  """Content-Length says more than arrives: the download is refused."""
  import threading
  listener = socket.socket()
  listener.bind(('127.0.0.1', 0))
  listener.listen(1)

  def answer():
    conn, _ = listener.accept()
    conn.recv(65536)
    conn.sendall(b'HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n' + b'x' * 10)
    conn.close()
  threading.Thread(target=answer, daemon=True).start()
  target = tmp_path / 'archive.tgz'
  with pytest.raises(UserError, match='cannot download|incomplete'):
    downloads.download('http://127.0.0.1:%d/a.tgz' % listener.getsockname()[1],
                   str(target))
  assert not target.exists() and not list(tmp_path.iterdir())
  listener.close()


def test_silent_server_times_out_with_one_line(tmp_path, monkeypatch):
  listener = socket.socket()
  listener.bind(('127.0.0.1', 0))
  listener.listen(1)
  monkeypatch.setattr(downloads, 'DOWNLOAD_TIMEOUT_S', 0.5)
  with pytest.raises(UserError, match='timed out'):
    downloads.download('http://127.0.0.1:%d/a.tgz' % listener.getsockname()[1],
                   str(tmp_path / 'a.tgz'))
  listener.close()


def test_wrong_size_or_digest_is_refused(tmp_path, served_dir, server_url):
  with pytest.raises(UserError, match='expected'):
    downloads.download('%s/%s' % (server_url, MODEL_ARCHIVE),
                   str(tmp_path / 'a.tgz'), size=88931400)
  with pytest.raises(UserError, match='sha256'):
    downloads.download('%s/%s' % (server_url, MODEL_ARCHIVE),
                   str(tmp_path / 'a.tgz'), digest=('sha256', '0' * 64))
  assert not list(tmp_path.iterdir())


def test_archive_cannot_write_outside_its_folder(tmp_path):
  import io
  archive = tmp_path / 'evil.tgz'
  with tarfile.open(archive, 'w:gz') as tar:
    for name in ('flower_photos/roses/ok.jpg', 'flower_photos/../../escape.txt',
                 '/abs.txt', 'other/x.txt'):
      info = tarfile.TarInfo(name)
      info.size = 2
      tar.addfile(info, io.BytesIO(b'ok'))
    link = tarfile.TarInfo('flower_photos/roses/link.jpg')
    link.type, link.linkname = tarfile.SYMTYPE, '/etc/passwd'
    tar.addfile(link)
  dest = tmp_path / 'dest'
  dest.mkdir()
  downloads.extract_folder(str(archive), 'flower_photos', str(dest))
  written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob('*'))
  assert written == ['dest', 'dest/flower_photos', 'dest/flower_photos/roses',
                     'dest/flower_photos/roses/ok.jpg', 'evil.tgz']


def test_archive_without_the_graph_is_refused(tmp_path):
  archive = tmp_path / 'x.tgz'
  with tarfile.open(archive, 'w:gz') as tar:
    tar.add(__file__, arcname='something_else.pb')
  with pytest.raises(UserError, match='holds no file'):
    downloads.extract_member(str(archive), standin.GRAPH_FILE_NAME,
                         str(tmp_path / 'g.pb'))
  (tmp_path / 'junk.tgz').write_bytes(b'not an archive')
  with pytest.raises(UserError, match='not a readable'):
    downloads.extract_member(str(tmp_path / 'junk.tgz'), standin.GRAPH_FILE_NAME,
                         str(tmp_path / 'g.pb'))
