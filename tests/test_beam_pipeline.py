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
