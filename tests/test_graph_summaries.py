"""retraining/graph/summaries.py: TensorBoard's files, a side output."""

from retraining.graph import summaries
from retraining.graph.tensorflow_v1 import tf, tf1

from conftest import fill_disk, small_disk


def test_summaries_on_a_full_disk_are_one_warning(tmp_path, capsys):
  """TensorBoard's files are a side output: the training goes on."""
  with small_disk(tmp_path / 'logs', '64k') as logs:
    fill_disk(logs)
    train, validation = summaries.summary_writers(str(logs), tf.Graph())
    summary = tf1.Summary(value=[tf1.Summary.Value(tag='accuracy', simple_value=1)])
    for step in range(3):
      train.add_summary(summary.SerializeToString(), step)
      train.flush()
      validation.add_summary(summary.SerializeToString(), step)
      validation.flush()
  warnings = capsys.readouterr().err.splitlines()
  assert len(warnings) == 1, warnings  # For both writers, then nothing more.
  assert warnings[0].startswith(
      'WARNING: cannot write TensorBoard summaries in %s' % logs)
