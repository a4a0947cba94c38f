"""retraining/beam/pipeline.py in this process: the job's counters, or none
where the runner has no metrics."""

import pytest

from conftest import import_beam_module


@pytest.fixture(scope='module')
def pipeline():
  return import_beam_module('retraining.beam.pipeline')


def test_a_runner_without_metrics_counts_nothing(pipeline):
  """Beam's own PipelineResult.metrics(), which a runner without metrics keeps."""
  runner = import_beam_module('apache_beam.runners.runner')
  assert pipeline.job_counts(runner.PipelineResult(runner.PipelineState.DONE)) is None


def test_a_runner_with_metrics_sums_each_counter_over_the_steps(pipeline):
  """A job run by Beam's DirectRunner: the pipeline's counters, summed over
  the steps that count them, each of them there even where none counted;
  another namespace's counters are left out."""
  beam = import_beam_module('apache_beam')
  job = beam.Pipeline(runner='DirectRunner')
  photos = job | beam.Create(['a', 'b', 'c'])
  _ = photos | 'Read' >> beam.Map(lambda _: pipeline.count('computed'))
  _ = photos | 'Write' >> beam.Map(lambda _: pipeline.count('computed'))
  _ = (photos | 'First' >> beam.Filter(lambda photo: photo == 'a')
       | 'Cached' >> beam.Map(lambda _: pipeline.count('cached')))
  _ = photos | 'Elsewhere' >> beam.Map(
      lambda _: beam.metrics.Metrics.counter('other', 'skipped').inc())
  result = job.run()
  result.wait_until_finish()
  assert dict(pipeline.job_counts(result)) == {
      'photos': 0, 'cached': 1, 'computed': 6, 'skipped': 0}
