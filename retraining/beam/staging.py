"""What the workers need from the driver: the package and the exact
versions of what decides the bytes (staged with the job), and the graph
(in a bucket, for workers elsewhere)."""

import atexit
import os
import shutil
import tempfile

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import SetupOptions

from retraining import downloads
from retraining.beam.options import runs_here
from retraining.beam.paths import is_local

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The package's installer for workers elsewhere (see ship_package).
SETUP_FILE = os.path.join(ROOT, 'setup.py')
# Options by which the user ships the code and its requirements already.
SHIPS_CODE = {'setup_file', 'extra_packages', 'sdk_container_image'}


def ship_package(options, versions):
  """Makes this package importable on the workers, with the driver's
  `versions` of what decides the bytes ({distribution: version}, as
  worker.installed_versions gives them). Local worker processes inherit this
  process's PYTHONPATH. Workers elsewhere install the package from
  setup.py, unless the options already ship code (--setup_file,
  --extra_package, or a container image holding it), and the pins from a
  requirements file, unless --requirements_file is given."""
  if runs_here(options):
    os.environ['PYTHONPATH'] = os.pathsep.join(
        [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    return
  setup = options.view_as(SetupOptions)
  given = set(options.get_all_options(drop_default=True))
  if not SHIPS_CODE & given:
    setup.setup_file = SETUP_FILE
  if 'requirements_file' not in given:
    setup.requirements_file = pins_file(versions)
    if 'requirements_cache' not in given:
      # The workers install the pins themselves (or have them already):
      # Beam would otherwise download each into a cache here, to stage it.
      setup.requirements_cache = 'skip'


def pins_file(versions):
  """A requirements file, deleted when this process ends, pinning each of
  `versions` ({distribution: version})."""
  handle, path = tempfile.mkstemp(prefix='retraining-pins-', suffix='.txt')
  with os.fdopen(handle, 'w') as f:
    f.writelines('%s==%s\n' % item for item in sorted(versions.items()))
  atexit.register(os.remove, path)
  return path


def model_graph(base, model_dir, url):
  """The path of the graph of `base` (see bases.py) in `model_dir`,
  downloaded there as retrain.py does if missing. For a bucket, it is
  downloaded here and uploaded, since the workers read it from there."""
  if is_local(model_dir):
    return os.path.abspath(downloads.maybe_download_base(base, model_dir, url))
  graph_path = FileSystems.join(model_dir, base.graph_file)
  if not FileSystems.exists(graph_path):
    with tempfile.TemporaryDirectory() as scratch:
      local = downloads.maybe_download_base(base, scratch, url)
      with open(local, 'rb') as src, FileSystems.create(graph_path) as dst:
        shutil.copyfileobj(src, dst, downloads.CHUNK_BYTES)
  return graph_path
