"""``DataLoader``: batches of a dataset, in the sampler's order, collated.

Ported from ``torch/utils/data/dataloader.py`` (2.13), single process: ``num_workers > 0``
loads in this process too (same batches, same order). Each iteration draws PyTorch's
``_base_seed`` (one ``random64()`` of ``generator`` or the default generator) when it starts,
even without shuffling, so the random numbers drawn after a loop agree with PyTorch's.

>>> import gradlens_core as torch
>>> _ = torch.manual_seed(0)
>>> loader = torch.utils.data.DataLoader(torch.arange(5), batch_size=2, shuffle=True)
>>> len(loader)
3
"""

from __future__ import annotations

from . import collate as _collate
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler, random_int64

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info():
    """Always None: gradlens_core loads in the main process."""
    return None


class _InfiniteConstantSampler:
    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over ``dataset`` in batches (see PyTorch's ``DataLoader`` for the arguments)."""

    __initialized = False

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in {False, None}:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified "
                    f"batch_sampler option, but got batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = _collate.default_collate if self._auto_collation else _collate.default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True

    def __setattr__(self, attr, val) -> None:
        if self.__initialized and attr in (
            "batch_size",
            "batch_sampler",
            "sampler",
            "drop_last",
            "dataset",
            "persistent_workers",
        ):
            raise ValueError(f"{attr} attribute should not be set after {self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        # the sampler's iterator is made first but starts (and draws its seed) at the first
        # batch, after the iteration's _base_seed: PyTorch's order of draws
        sampler_iter = iter(self._index_sampler)
        self._base_seed = random_int64(self.generator)
        return self._batches(sampler_iter)

    def _batches(self, sampler_iter):
        if self._iterable:
            dataset_iter = iter(self.dataset)
            for index in sampler_iter:
                if self._auto_collation:
                    data = []
                    for _ in index:
                        try:
                            data.append(next(dataset_iter))
                        except StopIteration:
                            break
                    if len(data) == 0 or (self.drop_last and len(data) < len(index)):
                        return
                    yield self.collate_fn(data)
                    if len(data) < len(index):
                        return
                else:
                    try:
                        data = next(dataset_iter)
                    except StopIteration:
                        return
                    yield self.collate_fn(data)
            return
        getitems = getattr(self.dataset, "__getitems__", None)
        for index in sampler_iter:
            if self._auto_collation:
                data = getitems(index) if getitems else [self.dataset[idx] for idx in index]
            else:
                data = self.dataset[index]
            yield self.collate_fn(data)

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                from math import ceil

                length = length // self.batch_size if self.drop_last else ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)
