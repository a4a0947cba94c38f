"""retraining/beam/worker.py in this process: a worker whose versions or
kernels differ from the driver's refuses, with one line naming both."""

from importlib import metadata

import pytest

from retraining import UserError

from conftest import import_beam_module


@pytest.fixture(scope='module')
def worker():
  return import_beam_module('retraining.beam.worker')


MISSING = 'no-such-distribution-here'


def versions(names):
  """{name: version} as importlib.metadata reads them, the worker aside."""
  return {name: metadata.version(name) for name in names}


def test_the_driver_pins_what_decides_the_bytes(worker):
  assert worker.installed_versions() == versions(worker.BYTE_DECIDING)


def test_installed_versions_leaves_out_a_distribution_not_installed(worker):
  assert worker.installed_versions(('pytest', MISSING, 'numpy')) == versions(
      ['pytest', 'numpy'])
  assert worker.installed_versions((MISSING,)) == {}


@pytest.mark.parametrize('name', ['tensorflow', 'numpy', 'pillow'])
def test_a_worker_with_another_version_refuses_naming_both(worker, name):
  driver = dict(versions(worker.BYTE_DECIDING), **{name: '0.0.1'})
  with pytest.raises(UserError) as refused:
    worker.check_versions(driver)
  line = str(refused.value)
  assert '\n' not in line
  assert 'this worker has %s %s where the job\'s driver has 0.0.1' % (
      name, metadata.version(name)) in line
  assert 'install %s==0.0.1' % name in line


def test_a_worker_without_a_distribution_the_driver_has_refuses(worker):
  driver = dict(versions(['numpy']), **{MISSING: '1.0'})
  with pytest.raises(UserError) as refused:
    worker.check_versions(driver)
  line = str(refused.value)
  assert '\n' not in line
  assert 'this worker has %s (none) where the job\'s driver has 1.0' % MISSING in line
  assert 'install %s==1.0' % MISSING in line


def test_a_worker_with_the_drivers_versions_goes_on(worker):
  assert worker.check_versions(versions(worker.BYTE_DECIDING)) is None
  assert worker.check_versions(versions(['numpy'])) is None


def test_a_worker_that_runs_other_kernels_already_refuses(worker, monkeypatch):
  """TensorFlow is imported in this process, as in a worker that imported it
  before the model was loaded: too late to choose its kernels."""
  monkeypatch.setenv('TF_ENABLE_ONEDNN_OPTS', '0')
  with pytest.raises(UserError, match=r'TF_ENABLE_ONEDNN_OPTS=0 where the job\'s '
                     r'driver has 1, '):
    worker.use_kernel_choice({'TF_ENABLE_ONEDNN_OPTS': '1'})
  worker.use_kernel_choice({'TF_ENABLE_ONEDNN_OPTS': '0'})
