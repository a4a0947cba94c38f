"""The book's base model: Inception v3's 2015 graph, as its archive holds it.

Its place among the bases (input, bottleneck, cache names) is in bases.py;
here are the files: where the archive comes from and what it and the graph
inside it must be. Nothing here needs TensorFlow.
"""

GRAPH_FILE_NAME = 'classify_image_graph_def.pb'
ARCHIVE_URL = ('http://download.tensorflow.org/models/image/imagenet/'
               'inception-2015-12-05.tgz')
ARCHIVE_SIZE = 88931400
ARCHIVE_SHA256 = 'f6b539e07358fc4622efdd40cdb5577672c46cd416bbfccf9d4d2438f9b93a1c'
GRAPH_SIZE = 95673916  # GRAPH_FILE_NAME in that archive
GRAPH_SHA256 = '009d6814d1bc560d4e7b236e170e9b2d5ca6f4b57bd8037f6db05776204415c6'
