"""Installs the package `retraining` on Apache Beam's workers elsewhere:
cache_bottlenecks.py passes this file as --setup_file for any runner that is
not local (see docs/cluster.md). Workers import the pipeline's code from the
package and need TensorFlow to run the graph, and LiteRT for a Keras base's
body (its version comes with the driver's pins, see beam/staging.py); they
need nothing else of requirements.txt. retrain.py and predict.py do not use
this file."""

import re

import setuptools

with open('retraining/__init__.py', encoding='utf-8') as f:
  VERSION = re.search(r"^__version__ = '([^']+)'", f.read(), re.M).group(1)

setuptools.setup(
  name='retraining',
  version=VERSION,
  packages=setuptools.find_packages(include=['retraining', 'retraining.*']),
  package_data={'retraining.lite.schema': ['*.fbs']},
  install_requires=['tensorflow>=2.16', 'numpy', 'pillow', 'tqdm'],
)
