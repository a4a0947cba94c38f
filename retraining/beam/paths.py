"""Paths as the pipeline sees them: a folder of this machine or a bucket's
URL, both through Beam's FileSystems."""

import os

from apache_beam.io.filesystems import FileSystems

SKIPPED_LIST_NAME = 'skipped_photos.txt'


def is_local(path):
  """A folder of this machine (or one it mounts), not a bucket's URL."""
  return FileSystems.get_scheme(path) is None


def absolute(path):
  return os.path.abspath(path) if is_local(path) else path


def skipped_list_path(bottleneck_dir):
  """Where the pipeline lists the photos it could not read: in the cache
  folder, the one place the workers of any runner can write and the user
  reads from (a worker's own disk is gone when the job ends)."""
  return FileSystems.join(bottleneck_dir, SKIPPED_LIST_NAME)
