"""The bottleneck of every photo: read from the cache, or computed through
the base's rewritten graph and written to the cache as it comes."""

import concurrent.futures
import errno
import os
import sys

import numpy as np

from retraining import UserError, cache, log, warn
from retraining.dataset import Bottlenecks
from retraining.graph import runner as graph_runner
from retraining.progress import progress_bar


def cached_bottlenecks(base_graph_def, base, photos, bottleneck_dir,
                       feed_weights=None):
  """Returns the Bottlenecks of every photo on `base` (whose graph is
  `base_graph_def`), computing those not yet cached.

  Cached values are read once (see retraining/cache.py). Missing ones are
  computed through the rewritten graph (see retraining/graph/runner.py)
  while a thread writes each to its cache file, so a killed run resumes
  where it stopped; with a warm cache the base is not even loaded into
  TensorFlow. A photo that cannot be decoded is not ok, and is named once
  in a warning; its row is then dropped, in place (see cache.keep_rows).
  feed_weights goes to graph_runner.photo_outputs (None: its default).
  """
  rel_paths = [p.cache_path for p in photos]
  cache.clear_unfinished_writes(bottleneck_dir)
  values, ok, broken, parsed_count = cache.load_bottlenecks(
      bottleneck_dir, rel_paths, base)
  for path in broken:
    warn('cache file %s is damaged; computing it again' % path)
  todo = {photos[i].image_path: i for i in np.flatnonzero(~ok)}
  skipped, writes = [], []
  if todo:
    log('Creating %d bottlenecks (%d found in the cache at %s)'
        % (len(todo), ok.sum(), bottleneck_dir))
  with progress_bar(total=len(photos), initial=int(ok.sum()),
                    desc='Bottlenecks', unit='photo') as bar, \
      concurrent.futures.ThreadPoolExecutor(1) as writer, \
      graph_runner.photo_outputs(base_graph_def, list(todo),
                                 base.bottleneck_tensor, feed_weights,
                                 graph_runner.body_opener(base)) as outputs:
    bar.set_postfix_str('%d cached' % ok.sum())
    for path, vector, failure in outputs:
      if failure:
        bar.write('WARNING: skipped %s: %s' % (path, failure), file=sys.stderr)
        skipped.append(path)
      else:
        i = todo[path]
        values[i], ok[i] = vector, True
        writes.append((path, writer.submit(
            cache.write_bottleneck,
            os.path.join(bottleneck_dir, rel_paths[i]), vector)))
      bar.set_postfix_str('%d cached, %d computed, %d skipped' % (
          len(photos) - len(todo), len(writes), len(skipped)), refresh=False)
      bar.update()
  check_cache_writes(writes, bottleneck_dir)
  values = cache.keep_rows(values, ok)
  if todo or parsed_count:  # Otherwise the index is already up to date.
    cache.save_index(bottleneck_dir,
                     [r for r, good in zip(rel_paths, ok) if good], values, base)
  return Bottlenecks(values, ok, skipped)


def check_cache_writes(writes, bottleneck_dir):
  """Warns of each photo ((path, future) of its cache file's write) whose
  name is too long for a cache file: it trains, but is computed again each
  run. Raises UserError, naming the file, on any other failure."""
  for path, write in writes:
    e = write.exception()
    if e is None:
      continue
    if isinstance(e, OSError) and e.errno == errno.ENAMETOOLONG:
      warn('the name of %s is too long for its cache file (its name plus %r): '
           'it is computed again at every run; shorten its name'
           % (path, cache.CACHE_SUFFIX))
      continue
    raise UserError('cannot write the cache file of %s in %s (%s): free space '
                    'there, or give --bottleneck_dir elsewhere' % (
                        path, bottleneck_dir, getattr(e, 'strerror', None) or e))

