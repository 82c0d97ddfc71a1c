"""``torch.utils.data``: map-style and iterable datasets, samplers, ``DataLoader``, ``random_split``.

Shuffling draws what PyTorch draws, from the same generators, so after the same
``manual_seed`` the batches come in PyTorch's order and later random numbers agree too.

>>> import gradlens_core as torch
>>> ds = torch.utils.data.TensorDataset(torch.arange(6.), torch.arange(6))
>>> [y for _, y in torch.utils.data.DataLoader(ds, batch_size=4)]
[tensor([0, 1, 2, 3]), tensor([4, 5])]
"""

from __future__ import annotations

from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
