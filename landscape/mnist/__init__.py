"""MNIST: the data, the seed's network, and training that records the weights along the way."""

from landscape.mnist.data import MNIST, data_dir, fetch_mnist, load_mnist, parse_idx
from landscape.mnist.model import N_PARAMS, glorot_init_, mlp
from landscape.mnist.training import (
    KERAS,
    SEED_TABLE,
    TrainingRun,
    evaluate,
    load_runs,
    mnist_optimizer,
    save_runs,
    seed_result,
    train,
    train_or_load,
    train_plain,
)

__all__ = [
    "KERAS",
    "MNIST",
    "N_PARAMS",
    "SEED_TABLE",
    "TrainingRun",
    "data_dir",
    "evaluate",
    "fetch_mnist",
    "glorot_init_",
    "load_mnist",
    "load_runs",
    "mlp",
    "mnist_optimizer",
    "parse_idx",
    "save_runs",
    "seed_result",
    "train",
    "train_or_load",
    "train_plain",
]
