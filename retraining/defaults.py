"""Where the three scripts read and write when no flag says otherwise: the
book's `./workspace` layout, defined once (no TensorFlow)."""

import os

WORKSPACE = './workspace'
IMAGE_DIR = os.path.join(WORKSPACE, 'flower_photos')
OUTPUT_GRAPH = os.path.join(WORKSPACE, 'flowers_graph.pb')
OUTPUT_LABELS = os.path.join(WORKSPACE, 'flowers_labels.txt')
SUMMARIES_DIR = os.path.join(WORKSPACE, 'retrain_logs')
MODEL_DIR = os.path.join(WORKSPACE, 'inception')
BOTTLENECK_DIR = os.path.join(WORKSPACE, 'bottlenecks')
