"""MNIST: the data, the lesson's network, and training that records the weights along the way.

data.py       the four files: fetch, verify, load
model.py      the network (nn.Sequential, and G parameter vectors at once), evaluation
lesson.py     the lesson's Keras settings and published table
run.py        a run's plan (settings, snapshot schedule, randomness) and record, TrainingRun
engine.py     the batched training engine: train()
reference.py  the plain torch loop: train_plain()
threads.py    CPU threads and denormals while training
cache.py      runs saved, loaded and cached by content: Training (the settings, the key),
              train_or_load()
figures.py    training curves and result bars
"""

from landscape.folders import data_dir
from landscape.mnist.cache import Training, load_runs, save_runs, train_or_load
from landscape.mnist.data import MNIST, fetch_mnist, load_mnist, parse_idx
from landscape.mnist.engine import train
from landscape.mnist.lesson import KERAS, LESSON_TABLE, lesson_result, mnist_optimizer
from landscape.mnist.model import N_PARAMS, evaluate, glorot_init_, mlp
from landscape.mnist.reference import train_plain
from landscape.mnist.run import TrainingRun

__all__ = [
    "KERAS",
    "LESSON_TABLE",
    "MNIST",
    "N_PARAMS",
    "Training",
    "TrainingRun",
    "data_dir",
    "evaluate",
    "fetch_mnist",
    "glorot_init_",
    "lesson_result",
    "load_mnist",
    "load_runs",
    "mlp",
    "mnist_optimizer",
    "parse_idx",
    "save_runs",
    "train",
    "train_or_load",
    "train_plain",
]
