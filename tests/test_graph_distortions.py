"""retraining/graph/distortions.py: upstream's random crop, scale, flip and
brightness, through the same body as every photo, reproducible by seed."""

import numpy as np
import pytest

from retraining import UserError
from retraining.bases import INCEPTION_V3
from retraining.graph import distortions, rewrite
from retraining.graph import runner as graph_runner

from conftest import make_photo

NONE = distortions.Distortions(False, 0, 0, 0)
ALL = distortions.Distortions(True, 10, 10, 10)


@pytest.fixture(scope='module')
def graph_def(tiny_graph_def):
  return rewrite.fast_graph_def(tiny_graph_def)


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
  folder = tmp_path_factory.mktemp('photos')
  return [make_photo(str(folder / ('%d.jpg' % i)), (40 * i, 90, 200), seed=i,
                     size=(80, 60)) for i in range(4)]


def distorted_twice(graph_def, photos, seed, settings):
  with distortions.distorted_bottlenecks(graph_def, INCEPTION_V3, seed,
                                         settings) as bottlenecks:
    return bottlenecks(photos), bottlenecks(photos)


def test_no_distortion_yields_nothing(graph_def):
  with distortions.distorted_bottlenecks(graph_def, INCEPTION_V3, 0, NONE) as bottlenecks:
    assert bottlenecks is None


def test_the_same_seed_gives_the_same_copies(graph_def, photos):
  first = distorted_twice(graph_def, photos, 3, ALL)
  again = distorted_twice(graph_def, photos, 3, ALL)
  other = distorted_twice(graph_def, photos, 4, ALL)
  assert first[0].shape == (len(photos), INCEPTION_V3.bottleneck_size)
  assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
  assert not np.array_equal(first[0], first[1])  # Fresh copies at each call.
  assert not np.array_equal(first[0], other[0])


def test_without_randomness_the_copy_is_the_photo_itself(graph_def, photos):
  """No crop, scale, flip or brightness change: the distortion head
  resizes as the graph's own head does, so the bottlenecks are the photo's."""
  almost_none = distortions.Distortions(False, 0, 0, 0.0001)
  with distortions.distorted_bottlenecks(graph_def, INCEPTION_V3, 0,
                                         almost_none) as bottlenecks:
    got = bottlenecks(photos)
  with graph_runner.photo_outputs(graph_def, photos, INCEPTION_V3.bottleneck_tensor) as outputs:
    expected = np.stack([vector for _, vector, _ in outputs])
  assert np.allclose(got, expected, atol=1e-3 * np.abs(expected).max())


def test_a_photo_gone_bad_since_it_was_cached_is_one_clear_error(graph_def, tmp_path):
  broken = tmp_path / 'broken.jpg'
  broken.write_bytes(b'not a photo')
  with distortions.distorted_bottlenecks(graph_def, INCEPTION_V3, 0, ALL) as bottlenecks:
    with pytest.raises(UserError, match='cannot be read any more'):
      bottlenecks([str(broken)])
