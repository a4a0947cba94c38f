"""The base models retrain.py retrains a final layer on (`--architecture`):
one value each, which every part reads: where its files come from, the
size and scaling of its input, its bottleneck and the names of its cache.

Every base's graph has the same head and the same names, so predict.py,
web/serve.py and phones run any retrained graph without being told which
base it is: JPEG bytes at `DecodeJpeg/contents:0`, decoded (`DecodeJpeg`),
resized (`ResizeBilinear`), a batch input (`input/ResizedImages`, see
graph/rewrite.py), scaled to (pixel - mean) / std (`Sub`, then `Mul`: the
.tflite's input), the base's body, its bottleneck, and the new layer's
`final_result`.

`inception_v3` is the book's 2015 graph, downloaded as an archive (see
inception.py). The others are Keras' own applications: their architecture
from `keras.applications`, their weights from the file Keras downloads for
it, frozen into a graph of the same form (see graph/keras_bases.py).
Adding one is one entry in BASES, plus its test.

Nothing here needs TensorFlow.
"""

import collections

from retraining import inception

# The head every base's graph shares.
JPEG_DATA_TENSOR_NAME = 'DecodeJpeg/contents:0'
DECODED_IMAGE_NODE = 'DecodeJpeg'
DECODED_IMAGE_TENSOR_NAME = DECODED_IMAGE_NODE + ':0'
RESIZED_IMAGE_NODE = 'ResizeBilinear'
RESIZED_IMAGE_TENSOR_NAME = RESIZED_IMAGE_NODE + ':0'
# What the rewrite adds between the head and the body (see rewrite.py).
BATCH_INPUT_NODE = 'input/ResizedImages'
BATCH_INPUT_TENSOR_NAME = BATCH_INPUT_NODE + ':0'
# The scaled photo: the .tflite's input (see graph/export.py).
SCALED_IMAGE_NODE = 'Mul'
MODEL_INPUT_DEPTH = 3
# The retrained layer's scores, which predict.py reads (retrain.py's
# --final_tensor_name, by default).
FINAL_TENSOR_NAME = 'final_result:0'

Base = collections.namedtuple('Base', [
    'name',  # the --architecture value
    'title',  # what it is, in the .tflite's description
    'summary',  # its cost and when to pick it, for --help
    'input_size',  # photos are resized to input_size x input_size
    'pixel_mean', 'pixel_std',  # the graph's Sub and Mul
    'bottleneck_node', 'bottleneck_tensor', 'bottleneck_size',
    'cache_suffix',  # after a photo's name in its cache file's name
    'graph_file',  # its graph in --model_dir
    'keras',  # KerasApplication, or None for the 2015 graph
])
# A Keras application: the function in keras.applications and its options,
# the no-top weights file Keras downloads for it, its address and the md5
# digest Keras publishes for it (None where Keras publishes none).
KerasApplication = collections.namedtuple(
    'KerasApplication', 'function options weights_file url md5')
KERAS_WEIGHTS = 'https://storage.googleapis.com/tensorflow/keras-applications/'
# The node ending a Keras base's graph (see graph/keras_bases.py).
KERAS_BOTTLENECK_NODE = 'bottleneck'


def keras_base(name, title, summary, input_size, bottleneck_size, keras,
               pixel_mean=127.5, pixel_std=127.5):
  """A base built from a Keras application, its input scaled to [-1, 1]
  unless its mean and std say otherwise."""
  return Base(name, title, summary, input_size, pixel_mean, pixel_std,
              KERAS_BOTTLENECK_NODE, KERAS_BOTTLENECK_NODE + ':0',
              bottleneck_size, '_' + name, name + '_graph_def.pb', keras)


INCEPTION_V3 = Base(
    'inception_v3', 'Inception v3 (inception-2015-12-05)',
    '5.7 G, 78%: the book\'s, a desktop',
    299, 128.0, 128.0, 'pool_3/_reshape', 'pool_3/_reshape:0', 2048, '',
    inception.GRAPH_FILE_NAME, None)

# Keras' MobileNet V3 files take photos scaled inside the model; without
# that layer (include_preprocessing=False) they take [-1, 1], as V2 does,
# so the graph's Sub and Mul scale them and the .tflite's metadata says so.
BASES = {base.name: base for base in (
    INCEPTION_V3,
    keras_base(
        'mobilenet_v2', 'MobileNetV2 1.0 224 (Keras applications)',
        '0.30 G, 71.3%: for apps built for it', 224, 1280, KerasApplication(
            'MobileNetV2', {'alpha': 1.0},
            'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5',
            KERAS_WEIGHTS + 'mobilenet_v2/', None)),
    keras_base(
        'mobilenet_v3_large', 'MobileNetV3-Large 1.0 224 (Keras applications)',
        '0.22 G, 75.6%: the usual pick for a phone', 224, 960, KerasApplication(
            'MobileNetV3Large', {'include_preprocessing': False},
            'weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5',
            KERAS_WEIGHTS + 'mobilenet_v3/', '07fb09a5933dd0c8eaafa16978110389')),
    keras_base(
        'mobilenet_v3_small', 'MobileNetV3-Small 1.0 224 (Keras applications)',
        '0.06 G, 68.1%: the slowest phones', 224, 576, KerasApplication(
            'MobileNetV3Small', {'include_preprocessing': False},
            'weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5',
            KERAS_WEIGHTS + 'mobilenet_v3/', 'd3e8ec802a04aa4fc771ee12a9a9b836')),
    # Its per-channel scaling stays inside the model (MediaPipe's metadata
    # has one mean and std for all channels): the graph passes pixels on.
    keras_base(
        'efficientnet_v2_b0', 'EfficientNetV2-B0 224 (Keras applications)',
        '0.72 G, 78.7%: a phone with time to spare', 224, 1280, KerasApplication(
            'EfficientNetV2B0', {'include_preprocessing': True},
            'efficientnetv2-b0_notop.h5', KERAS_WEIGHTS + 'efficientnet_v2/',
            '893217f2bb855e2983157299931e43ff'), pixel_mean=0.0, pixel_std=1.0),
)}
DEFAULT = INCEPTION_V3.name
# The help of the flags retrain.py and cache_bottlenecks.py share.
ARCHITECTURE_HELP = (
    'The base model whose bottlenecks the new layer learns from, with its '
    'multiply-adds per photo and ImageNet top-1 as published: %s. All but '
    'the book\'s are for phones: far quicker, their .tflite far smaller '
    '(README: Which base model).' % '; '.join(
        '%s (%s)' % (base.name, base.summary) for base in BASES.values()))
MODEL_DIR_HELP = ('Folder of the base model (classify_image_graph_def.pb, or '
                  'a Keras weights file and the graph frozen from it); it is '
                  'downloaded there if missing.')
MODEL_URL_HELP = ('Where to download the base model from (the Inception v3 '
                  'archive, or the Keras weights file). Default: its '
                  'publisher\'s address, and the file must be the one '
                  'published; another address (a mirror) is trusted.')


def weights_url(base):
  """Where the base's download comes from by default."""
  if base.keras is None:
    return inception.ARCHIVE_URL
  return base.keras.url + base.keras.weights_file
