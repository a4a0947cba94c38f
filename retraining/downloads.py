"""Downloads and archives, complete or not at all: the base model for
retrain.py and cache_bottlenecks.py (Inception's graph,
`maybe_download_and_extract`, or a Keras application's weights,
`maybe_download_weights`) and the flower photos for retrain.py's default
--image_dir (`maybe_download_flowers`).

A digest is (hashlib's name for it, hex digits): Keras publishes md5 ones."""

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request

from retraining import UserError, defaults, files, inception, log, warn
from retraining.files import atomic_write
from retraining.progress import progress_bar

DOWNLOAD_TIMEOUT_S = 30
CHUNK_BYTES = 1 << 20
FLOWERS_URL = 'http://download.tensorflow.org/example_images/flower_photos.tgz'
FLOWERS_DIGEST = ('sha256', '4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c')
FLOWERS_FOLDER = 'flower_photos'


def check_archive(path, size=None, digest=None):
  """Raises UserError if `path` does not have the expected size or digest."""
  actual_size = os.path.getsize(path)
  if size is not None and actual_size != size:
    raise UserError('%s has %d bytes, expected %d: the download is incomplete '
                    'or not the expected file' % (path, actual_size, size))
  if digest is not None and files.digest_of(path, digest[0]) != digest[1]:
    raise UserError('%s does not have the expected %s %s: it is not the '
                    'expected file' % (path, digest[0], digest[1]))


def download(url, path, size=None, digest=None):
  """Downloads `url` to `path` with a progress bar, complete or not at all.

  The length the server announced, and `size` and `digest` when given, are
  checked before the file is renamed into place, so a truncated or wrong
  download is never kept and is fetched again on the next run.
  """
  name = os.path.basename(path)
  received_digest = hashlib.new(digest[0]) if digest else None
  try:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
      announced = response.headers.get('Content-Length')
      announced = int(announced) if announced else None
      with atomic_write(path, 'wb') as f, progress_bar(
          total=announced or size, desc='Downloading ' + name, unit='B',
          unit_scale=True, unit_divisor=1024) as bar:
        received = 0
        for chunk in iter(lambda: response.read(CHUNK_BYTES), b''):
          f.write(chunk)
          if received_digest:
            received_digest.update(chunk)
          received += len(chunk)
          bar.update(len(chunk))
        for expected in (announced, size):
          if expected is not None and received != expected:
            raise UserError('download of %s got %d bytes, expected %d: it is '
                            'incomplete or not the expected file; run again '
                            'to retry' % (url, received, expected))
        if received_digest and received_digest.hexdigest() != digest[1]:
          raise UserError('download of %s does not have the expected %s %s: '
                          'it is not the expected file and was not kept; run '
                          'again to retry' % (url, digest[0], digest[1]))
  except urllib.error.HTTPError as e:
    raise UserError('download of %s failed: HTTP %d %s' % (url, e.code, e.reason))
  except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
    reason = getattr(e, 'reason', None) or str(e) or type(e).__name__
    raise UserError('cannot download %s (%s)' % (url, reason))


def open_archive(path):
  try:
    return tarfile.open(path, 'r:*')
  except (tarfile.TarError, EOFError, OSError) as e:
    raise UserError('%s is not a readable .tgz archive (%s); delete it and run '
                    'again' % (path, e))


def extract_member(archive_path, member_name, dest_path):
  """Extracts the regular file `member_name` of the archive to `dest_path`."""
  with open_archive(archive_path) as tar:
    try:
      for member in tar:
        if member.name.lstrip('./') == member_name and member.isfile():
          with tar.extractfile(member) as src, atomic_write(dest_path) as dst:
            shutil.copyfileobj(src, dst, CHUNK_BYTES)
          return
    except (tarfile.TarError, EOFError, OSError) as e:
      raise UserError('%s is damaged (%s); delete it and run again'
                      % (archive_path, e))
  raise UserError('%s holds no file %s' % (archive_path, member_name))


def is_safe_member(member, top_folder):
  """True for a regular file or folder inside `top_folder/`, nothing else.

  Refuses absolute paths, `..`, links and devices, so an archive can only
  write the expected files inside the target folder.
  """
  parts = member.name.replace('\\', '/').split('/')
  return ((member.isfile() or member.isdir())
          and not member.name.startswith('/')
          and '..' not in parts
          and parts[0] == top_folder)


def extract_folder(archive_path, top_folder, dest_dir):
  """Extracts `top_folder/` of the archive into `dest_dir/top_folder`.

  It is unpacked next to its final place and renamed when complete, so an
  interrupted extraction never leaves a half-filled photo folder behind.
  """
  final_path = os.path.join(dest_dir, top_folder)
  staging = tempfile.mkdtemp(dir=dest_dir, prefix='.' + top_folder + '.')
  try:
    with open_archive(archive_path) as tar:
      try:
        members = [m for m in tar if is_safe_member(m, top_folder)]
        if not any(m.isfile() for m in members):
          raise UserError('%s holds no files under %s/'
                          % (archive_path, top_folder))
        tar.extractall(staging, members=members, filter='data')
      except (tarfile.TarError, EOFError, OSError) as e:
        raise UserError('%s is damaged (%s); delete it and run again'
                        % (archive_path, e))
    os.replace(os.path.join(staging, top_folder), final_path)
  finally:
    shutil.rmtree(staging, ignore_errors=True)


def maybe_download_base(base, model_dir, url):
  """Makes sure the graph of `base` (see bases.py) is in model_dir; returns
  its path. Nothing is fetched when it is there. Inception's comes out of
  its archive; a Keras base's is frozen from its weights file, which needs
  TensorFlow, imported then only."""
  if base.keras is None:
    return maybe_download_and_extract(model_dir, url)
  graph_path = os.path.join(model_dir, base.graph_file)
  if not os.path.exists(graph_path):
    weights = maybe_download_weights(base.keras, model_dir, url)
    from retraining.graph import keras_bases
    log('Freezing %s with %s into %s' % (base.title, weights, graph_path))
    keras_bases.freeze(base, weights, graph_path)
  return graph_path


def maybe_download_and_extract(model_dir, url):
  """Makes sure classify_image_graph_def.pb is in model_dir; returns its path.

  Nothing is fetched (no network access at all) when the .pb is there, and
  a complete archive already in model_dir is extracted without downloading.
  From the default URL, the archive must be the known one.
  """
  graph_path = os.path.join(model_dir, inception.GRAPH_FILE_NAME)
  if os.path.exists(graph_path):
    return graph_path
  archive = os.path.join(model_dir, os.path.basename(url) or 'inception.tgz')
  known = url == inception.ARCHIVE_URL
  fetch_archive(url, archive, size=inception.ARCHIVE_SIZE if known else None,
                digest=('sha256', inception.ARCHIVE_SHA256) if known else None,
                offline_hint='download %s on another machine and put it (or '
                'the %s inside it) in %s' % (inception.ARCHIVE_URL,
                                             inception.GRAPH_FILE_NAME, model_dir))
  extract_or_discard(archive, extract_member, inception.GRAPH_FILE_NAME,
                     graph_path)
  return graph_path


def maybe_download_weights(keras, model_dir, url):
  """Makes sure the weights file of the Keras application `keras` (a
  bases.KerasApplication) is in model_dir, under the name Keras gives it;
  returns its path. From Keras' own address, it must have the digest Keras
  publishes for it (where Keras publishes one); from another `url` (a
  mirror) it is taken as it is."""
  path = os.path.join(model_dir, keras.weights_file)
  known = keras.md5 and url == keras.url + keras.weights_file
  fetch_archive(url, path, digest=('md5', keras.md5) if known else None,
                offline_hint='download %s on another machine and put it in %s'
                % (keras.url + keras.weights_file, model_dir))
  return path


def fetch_archive(url, archive, size=None, digest=None, offline_hint=''):
  """Downloads `url` to `archive` unless a complete copy is already there."""
  if os.path.exists(archive):
    try:
      check_archive(archive, size=size, digest=digest)
      return
    except UserError as e:
      warn('%s; downloading it again' % e)
      os.remove(archive)
  try:
    download(url, archive, size=size, digest=digest)
  except UserError as e:
    raise UserError('%s. Without internet, %s' % (e, offline_hint))


def extract_or_discard(archive, extract, *args):
  """Runs extract(archive, *args); a damaged archive is deleted so that the
  next run downloads it again."""
  try:
    extract(archive, *args)
  except UserError:
    os.remove(archive)
    raise


def maybe_download_flowers(image_dir, url):
  """Fetches the flower photos when the default --image_dir is missing."""
  if os.path.exists(image_dir) or (
      os.path.abspath(image_dir) != os.path.abspath(defaults.IMAGE_DIR)):
    return
  parent = os.path.dirname(os.path.abspath(image_dir))
  archive = os.path.join(parent, os.path.basename(url) or 'flower_photos.tgz')
  fetch_archive(url, archive,
                digest=FLOWERS_DIGEST if url == FLOWERS_URL else None,
                offline_hint='put your photos in %s, one sub-folder per class'
                % image_dir)
  extract_or_discard(archive, extract_folder, FLOWERS_FOLDER, parent)
