"""retraining/machine.py: work kept in flight (aligned memory: see test_cache.py)."""

import concurrent.futures

from retraining import machine


def test_map_ahead_keeps_order_and_a_bounded_number_in_flight():
  with concurrent.futures.ThreadPoolExecutor(3) as pool:
    submit, submitted = pool.submit, []
    pool.submit = lambda function, item: (
        submitted.append(item) or submit(function, item))
    futures = machine.map_ahead(pool, lambda x: x * x, range(20), ahead=4)
    assert submitted == [0, 1, 2, 3]  # Before the first is asked for.
    results = []
    for future in futures:
      results.append(future.result())
      assert len(submitted) == min(20, len(results) + 4)
  assert results == [x * x for x in range(20)]
