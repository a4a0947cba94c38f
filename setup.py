"""Installs the package `retraining` on Apache Beam's workers elsewhere:
cache_bottlenecks.py passes this file as --setup_file for any runner that is
not local (see docs/cluster.md). Workers import the pipeline's code from the
package and need TensorFlow to run the graph; they need nothing else of
requirements.txt. retrain.py and predict.py do not use this file."""

import setuptools

setuptools.setup(
  name='retraining',
  version='1.0.0',  # retraining.__version__
  packages=['retraining'],
  install_requires=['tensorflow>=2.16', 'numpy', 'pillow', 'tqdm'],
)
