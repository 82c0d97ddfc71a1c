"""libstdc++'s selection and sorting algorithms, step for step, for the order they leave equal
elements in.

PyTorch's CPU topk runs ``std::partial_sort`` or ``std::nth_element`` (+ ``std::sort``) over
(value, index) pairs; none of them is stable, so which of several equal values topk returns,
and so which element its gradient reaches, is whatever these algorithms do. Elements that
compare unequal come out the same from any correct algorithm: callers use these only for rows
with ties.

>>> less = lambda a, b: a[0] < b[0]
>>> q = [(1.0, 0), (0.0, 1), (1.0, 2), (0.0, 3)]
>>> nth_element(q, 1, less)
>>> [i for _, i in q[:2]]
[1, 3]
"""

from __future__ import annotations

__all__ = ["nth_element", "sort", "partial_sort"]


def _lg(n: int) -> int:
    return n.bit_length() - 1


def _move_median_to_first(q, result, a, b, c, comp) -> None:
    if comp(q[a], q[b]):
        if comp(q[b], q[c]):
            q[result], q[b] = q[b], q[result]
        elif comp(q[a], q[c]):
            q[result], q[c] = q[c], q[result]
        else:
            q[result], q[a] = q[a], q[result]
    elif comp(q[a], q[c]):
        q[result], q[a] = q[a], q[result]
    elif comp(q[b], q[c]):
        q[result], q[c] = q[c], q[result]
    else:
        q[result], q[b] = q[b], q[result]


def _unguarded_partition(q, first, last, pivot, comp) -> int:
    while True:
        while comp(q[first], q[pivot]):
            first += 1
        last -= 1
        while comp(q[pivot], q[last]):
            last -= 1
        if not first < last:
            return first
        q[first], q[last] = q[last], q[first]
        first += 1


def _unguarded_partition_pivot(q, first, last, comp) -> int:
    mid = first + (last - first) // 2
    _move_median_to_first(q, first, first + 1, mid, last - 1, comp)
    return _unguarded_partition(q, first + 1, last, first, comp)


def _unguarded_linear_insert(q, last, comp) -> None:
    val = q[last]
    nxt = last - 1
    while comp(val, q[nxt]):
        q[last] = q[nxt]
        last = nxt
        nxt -= 1
    q[last] = val


def _insertion_sort(q, first, last, comp) -> None:
    if first == last:
        return
    for i in range(first + 1, last):
        if comp(q[i], q[first]):
            val = q[i]
            q[first + 1 : i + 1] = q[first:i]
            q[first] = val
        else:
            _unguarded_linear_insert(q, i, comp)


def _push_heap(q, base, hole, top, value, comp) -> None:
    parent = (hole - 1) // 2
    while hole > top and comp(q[base + parent], value):
        q[base + hole] = q[base + parent]
        hole = parent
        parent = (hole - 1) // 2
    q[base + hole] = value


def _adjust_heap(q, base, hole, length, value, comp) -> None:
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if comp(q[base + child], q[base + child - 1]):
            child -= 1
        q[base + hole] = q[base + child]
        hole = child
    if length & 1 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        q[base + hole] = q[base + child - 1]
        hole = child - 1
    _push_heap(q, base, hole, top, value, comp)


def _make_heap(q, first, last, comp) -> None:
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(q, first, parent, length, q[first + parent], comp)
        if parent == 0:
            return
        parent -= 1


def _pop_heap(q, first, last, result, comp) -> None:
    value = q[result]
    q[result] = q[first]
    _adjust_heap(q, first, 0, last - first, value, comp)


def _heap_select(q, first, middle, last, comp) -> None:
    _make_heap(q, first, middle, comp)
    for i in range(middle, last):
        if comp(q[i], q[first]):
            _pop_heap(q, first, middle, i, comp)


def _sort_heap(q, first, last, comp) -> None:
    while last - first > 1:
        last -= 1
        _pop_heap(q, first, last, last, comp)


def partial_sort(q: list, middle: int, comp, first: int = 0, last: int | None = None) -> None:
    """``std::partial_sort(first, first + middle, last, comp)`` on the list ``q``, in place."""
    last = len(q) if last is None else last
    _heap_select(q, first, middle, last, comp)
    _sort_heap(q, first, middle, comp)


def nth_element(q: list, nth: int, comp) -> None:
    """``std::nth_element(begin, begin + nth, end, comp)`` (introselect), in place."""
    first, last = 0, len(q)
    if first == last or nth == last:
        return
    depth = 2 * _lg(last - first)
    while last - first > 3:
        if depth == 0:
            _heap_select(q, first, nth + 1, last, comp)
            q[first], q[nth] = q[nth], q[first]
            return
        depth -= 1
        cut = _unguarded_partition_pivot(q, first, last, comp)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(q, first, last, comp)


def _introsort_loop(q, first, last, depth, comp) -> None:
    while last - first > 16:
        if depth == 0:
            partial_sort(q, last, comp, first, last)
            return
        depth -= 1
        cut = _unguarded_partition_pivot(q, first, last, comp)
        _introsort_loop(q, cut, last, depth, comp)
        last = cut


def sort(q: list, last: int, comp) -> None:
    """``std::sort(begin, begin + last, comp)`` (introsort, then insertion sort), in place."""
    if last <= 0:
        return
    _introsort_loop(q, 0, last, 2 * _lg(last), comp)
    if last > 16:
        _insertion_sort(q, 0, 16, comp)
        for i in range(16, last):
            _unguarded_linear_insert(q, i, comp)
    else:
        _insertion_sort(q, 0, last, comp)
