"""retraining/beam/worker.py in this process: a worker whose versions or
kernels differ from the driver's refuses, with one line naming both."""

import pytest

from retraining import UserError

from conftest import import_beam_module


@pytest.fixture(scope='module')
def worker():
  return import_beam_module('retraining.beam.worker')


def test_the_driver_pins_what_decides_the_bytes(worker):
  assert set(worker.installed_versions()) == set(worker.BYTE_DECIDING)


@pytest.mark.parametrize('name', ['tensorflow', 'numpy', 'pillow'])
def test_a_worker_with_another_version_refuses_naming_both(worker, name):
  driver = dict(worker.installed_versions(), **{name: '0.0.1'})
  with pytest.raises(UserError) as refused:
    worker.check_versions(driver)
  line = str(refused.value)
  assert '\n' not in line
  assert '%s %s where the job\'s driver has 0.0.1' % (
      name, worker.installed_versions()[name]) in line
  assert 'install %s==0.0.1' % name in line


def test_a_worker_with_the_drivers_versions_goes_on(worker):
  worker.check_versions(worker.installed_versions())


def test_a_worker_that_runs_other_kernels_already_refuses(worker, monkeypatch):
  """TensorFlow is imported in this process, as in a worker that imported it
  before the model was loaded: too late to choose its kernels."""
  monkeypatch.setenv('TF_ENABLE_ONEDNN_OPTS', '0')
  with pytest.raises(UserError, match=r'TF_ENABLE_ONEDNN_OPTS=0 where the job\'s '
                     r'driver has 1, '):
    worker.use_kernel_choice({'TF_ENABLE_ONEDNN_OPTS': '1'})
  worker.use_kernel_choice({'TF_ENABLE_ONEDNN_OPTS': '0'})
