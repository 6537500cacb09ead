"""netcore's data: built-in datasets, a user's own tables and arrays, preprocessing and caching."""

from netcore.data.builtin import DATASETS, load_dataset, load_digits, load_spirals, make_spirals
from netcore.data.dataset import Dataset
from netcore.data.mnist import load_mnist, mnist_dir, read_idx
from netcore.data.preprocess import PCAWhitener, Standardizer
from netcore.data.tabular import Preprocessing

__all__ = [
    "DATASETS",
    "Dataset",
    "PCAWhitener",
    "Preprocessing",
    "Standardizer",
    "load_dataset",
    "load_digits",
    "load_mnist",
    "load_spirals",
    "make_spirals",
    "mnist_dir",
    "read_idx",
]
