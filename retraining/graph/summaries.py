"""TensorBoard's summaries of a training run: a side output, so a folder
or disk that cannot take them costs one warning, never the model."""

import os
import socket
import time

from tensorflow.core.framework import summary_pb2
from tensorflow.core.util import event_pb2

from retraining import warn
from retraining.graph.tensorflow_v1 import tf


def summary_writers(summaries_dir, graph):
  """TensorBoard writers for train/ and validation/, cleared of old runs.

  Only the event files of earlier runs are deleted, never the folder, since
  --summaries_dir may point anywhere. The summaries are a side output: a
  folder or disk that cannot take them costs one warning, never the model.
  """
  writers = []
  failed = []  # Shared: the first failure of either is the one warning.
  for name in ('train', 'validation'):
    folder = os.path.join(summaries_dir, name)
    try:
      remove_event_files(folder)
    except OSError as e:
      warn('cannot clear old TensorBoard runs in %s (%s)' % (folder, e.strerror))
    writers.append(SummaryFile(folder, graph if name == 'train' else None,
                               failed))
  return writers


def remove_event_files(folder):
  if os.path.isdir(folder):
    for entry in os.scandir(folder):
      if entry.name.startswith('events.out.tfevents.'):
        os.remove(entry.path)


class SummaryFile:
  """A TensorBoard event file, written as tf1.summary.FileWriter writes it,
  but in this thread (FileWriter's own thread dies with a traceback on a
  full disk): the first failure of any file sharing `failed` is one
  warning, then none of them writes more."""

  def __init__(self, folder, graph=None, failed=None):
    self.path = os.path.join(folder, 'events.out.tfevents.%d.%s' % (
        time.time(), socket.gethostname()))
    self.writer = None
    self.failed = [] if failed is None else failed
    self.guarded(self.open, graph)

  def open(self, graph):
    tf.io.gfile.makedirs(os.path.dirname(self.path))
    self.writer = tf.io.TFRecordWriter(self.path)
    self.write_event(file_version='brain.Event:2')
    if graph is not None:
      self.write_event(graph_def=graph.as_graph_def().SerializeToString())

  def write_event(self, **fields):
    event = event_pb2.Event(wall_time=time.time(), **fields)
    self.writer.write(event.SerializeToString())

  def add_summary(self, summary, step):
    """Appends a serialized Summary (what a summary op returns) at `step`."""
    if self.writer and not self.failed:
      self.guarded(lambda: self.write_event(
          step=step, summary=summary_pb2.Summary.FromString(summary)))

  def flush(self):
    if self.writer and not self.failed:
      self.guarded(self.writer.flush)

  def guarded(self, write, *args):
    try:
      write(*args)
    except (OSError, tf.errors.OpError) as e:
      if not self.failed:
        warn('cannot write TensorBoard summaries in %s (%s): the model is '
             'trained and saved all the same' % (
                 os.path.dirname(os.path.dirname(self.path)),
                 getattr(e, 'strerror', None) or e.message))
      self.failed.append(self.path)
      self.writer = None
