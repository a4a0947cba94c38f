"""The Inception v3 graph as its users see it: file name, tensors, sizes.

Nothing here needs TensorFlow, so modules that only need these names (the
bottleneck cache, say) load without it.
"""

GRAPH_FILE_NAME = 'classify_image_graph_def.pb'
ARCHIVE_URL = ('http://download.tensorflow.org/models/image/imagenet/'
               'inception-2015-12-05.tgz')
ARCHIVE_SIZE = 88931400
ARCHIVE_SHA256 = 'f6b539e07358fc4622efdd40cdb5577672c46cd416bbfccf9d4d2438f9b93a1c'
GRAPH_SIZE = 95673916  # GRAPH_FILE_NAME in that archive
GRAPH_SHA256 = '009d6814d1bc560d4e7b236e170e9b2d5ca6f4b57bd8037f6db05776204415c6'

# The decoding head: JPEG bytes -> pixels -> [1, 299, 299, 3].
JPEG_DATA_TENSOR_NAME = 'DecodeJpeg/contents:0'
DECODED_IMAGE_NODE = 'DecodeJpeg'
DECODED_IMAGE_TENSOR_NAME = DECODED_IMAGE_NODE + ':0'
RESIZED_IMAGE_NODE = 'ResizeBilinear'
RESIZED_IMAGE_TENSOR_NAME = RESIZED_IMAGE_NODE + ':0'
# Then (pixel - 128) / 128 at Mul:0 (the graph's Sub and Mul), the body, and
# the 2,048-value bottleneck. Mul:0 is the .tflite's input (see
# graph/export.py).
SCALED_IMAGE_NODE = 'Mul'
PIXEL_MEAN = 128.0
PIXEL_STD = 128.0
BOTTLENECK_RESHAPE_NODE = 'pool_3/_reshape'
BOTTLENECK_TENSOR_NAME = BOTTLENECK_RESHAPE_NODE + ':0'
BOTTLENECK_TENSOR_SIZE = 2048
MODEL_INPUT_WIDTH = 299
MODEL_INPUT_HEIGHT = 299
MODEL_INPUT_DEPTH = 3
# The .tflite's input: one photo as Mul:0 gives it.
SCALED_IMAGE_SHAPE = [1, MODEL_INPUT_HEIGHT, MODEL_INPUT_WIDTH, MODEL_INPUT_DEPTH]
# The retrained layer's scores, which predict.py reads (retrain.py's
# --final_tensor_name, by default).
FINAL_TENSOR_NAME = 'final_result:0'
# What the rewrite adds between the head and the body (see rewrite.py).
BATCH_INPUT_NODE = 'input/ResizedImages'
BATCH_INPUT_TENSOR_NAME = BATCH_INPUT_NODE + ':0'
