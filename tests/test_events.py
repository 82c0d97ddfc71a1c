"""The event layer: subscription, one test per event kind, payload identity, no leaks."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import gradlens_core as torch
from gradlens_core import _events


class Recorder:
    """A listener that keeps every (kind, payload) it is sent."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def __call__(self, kind, payload) -> None:
        self.events.append((kind, payload))

    def of(self, kind: str) -> list[dict]:
        return [p for k, p in self.events if k == kind]

    def one(self, kind: str, **match) -> dict:
        """The single event of ``kind`` whose payload holds exactly the given objects (by identity)."""
        found = [p for p in self.of(kind) if all(p.get(key) is value for key, value in match.items())]
        assert len(found) == 1, f"expected one {kind} event matching {match}, got {len(found)}: {self.kinds()}"
        return found[0]

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]


@pytest.fixture
def rec():
    r = Recorder()
    with torch.subscribe(r):
        yield r


# ----------------------------------------------------------------------------- subscription


def test_no_listener_means_inactive():
    assert _events.listener_count() == 0
    assert _events.active is False


def test_subscribe_returns_removable_handle_and_activates():
    r = Recorder()
    handle = torch.subscribe(r)
    try:
        assert isinstance(handle, torch.RemovableHandle)
        assert _events.active is True
        torch.tensor([1.0])
        assert r.kinds() == ["created"]
    finally:
        handle.remove()
    assert _events.active is False


def test_removed_listener_gets_nothing_more():
    r = Recorder()
    handle = torch.subscribe(r)
    torch.ones(2)
    handle.remove()
    n = len(r.events)
    assert n == 1
    a = torch.ones(2, requires_grad=True)
    (a * 2).sum().backward()
    a.detach().numpy()
    assert len(r.events) == n
    handle.remove()  # removing twice is harmless
    assert _events.active is False


def test_handle_is_a_context_manager():
    r = Recorder()
    with torch.subscribe(r) as handle:
        assert isinstance(handle, torch.RemovableHandle)
        assert _events.active
        torch.zeros(1)
    assert not _events.active
    torch.zeros(1)
    assert r.kinds() == ["created"]


def test_two_listeners_each_get_every_event_and_stay_independent():
    r1, r2 = Recorder(), Recorder()
    h1 = torch.subscribe(r1)
    with torch.subscribe(r2):
        t = torch.ones(2)
        h1.remove()
        assert _events.active  # r2 is still listening
        t.add_(1)
    assert r1.kinds() == ["created"]
    assert r2.kinds() == ["created", "mutated"]
    assert r1.events[0][1]["tensor"] is t and r2.events[0][1]["tensor"] is t
    assert not _events.active


def test_subscribe_refuses_non_callable():
    with pytest.raises(TypeError):
        torch.subscribe(42)
    assert not _events.active


def test_every_documented_kind_is_tested():
    """A kind added to the event layer must get a test here."""
    for kind in _events.KINDS:
        assert any(name.startswith("test_") and kind in name for name in globals()), kind
    doc_kinds = {line.split()[0] for line in _events.__doc__.splitlines() if line[:1].isalpha() and "  " in line}
    assert set(_events.KINDS) <= doc_kinds


# ----------------------------------------------------------------------------- created


def test_created_by_factory(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    p = rec.one("created", tensor=a)
    assert p["grad_fn"] is None
    assert tuple(p["inputs"]) == ()


def test_created_by_op_carries_node_and_inputs(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0])
    b = a * w
    p = rec.one("created", tensor=b)
    assert p["grad_fn"] is b.grad_fn
    assert type(p["grad_fn"]).__name__ == "MulBackward0"
    assert len(p["inputs"]) == 2 and p["inputs"][0] is a and p["inputs"][1] is w
    assert isinstance(p["op"], str)


def test_created_under_no_grad_has_no_node_but_keeps_inputs(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.no_grad():
        b = a.exp()
    p = rec.one("created", tensor=b)
    assert p["grad_fn"] is None
    assert any(i is a for i in p["inputs"])


def test_created_by_non_differentiable_op_keeps_inputs(rec):
    a = torch.tensor([1.0, 3.0, 2.0], requires_grad=True)
    i = a.argmax()
    c = a > 1.5
    for out in (i, c):
        p = rec.one("created", tensor=out)
        assert p["grad_fn"] is None
        assert any(x is a for x in p["inputs"])


# ----------------------------------------------------------------------------- aliased


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a[0],
        lambda a: a[1:],
        lambda a: a.view(2, 1),
        lambda a: a.t(),
        lambda a: a.unsqueeze(0),
        lambda a: a.expand(3, 2),
        lambda a: a.reshape(1, 2),
    ],
    ids=["select", "slice", "view", "t", "unsqueeze", "expand", "reshape"],
)
def test_aliased_view(rec, make):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    v = make(a)
    p = rec.one("aliased", tensor=v)
    assert p["source"] is a
    assert p["kind"] == "view"
    assert isinstance(p["op"], str)


def test_aliased_view_of_view_names_its_direct_source(rec):
    a = torch.arange(6.0)
    m = a.view(2, 3)
    r = m[1]
    assert rec.one("aliased", tensor=r)["source"] is m


def test_aliased_detach(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    d = a.detach()
    p = rec.one("aliased", tensor=d)
    assert p["source"] is a and p["kind"] == "detach"


def test_aliased_data(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    d = a.data
    p = rec.one("aliased", tensor=d)
    assert p["source"] is a and p["kind"] == "data"


def test_aliased_numpy(rec):
    a = torch.tensor([1.0, 2.0])
    arr = a.numpy()
    p = rec.one("aliased", tensor=a)
    assert p["kind"] == "numpy"
    assert p["array"] is arr
    assert np.shares_memory(p["array"], arr)


def test_aliased_from_numpy(rec):
    arr = np.array([1.0, 2.0])
    t = torch.from_numpy(arr)
    p = rec.one("aliased", tensor=t)
    assert p["kind"] == "from_numpy"
    assert p["array"] is arr
    assert p["source"] is None


def test_aliased_not_sent_for_copies(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    a.clone()
    a * 2
    a[[0, 1]]
    assert rec.of("aliased") == []


# ----------------------------------------------------------------------------- detached_in_place


def test_detached_in_place(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    node = b.grad_fn
    b.detach_()
    p = rec.one("detached_in_place", tensor=b)
    assert p["old_grad_fn"] is node
    assert b.grad_fn is None


def test_detached_in_place_refused_on_view_sends_nothing(rec):
    b = torch.tensor([1.0, 2.0], requires_grad=True) * 2
    v = b[0]
    with pytest.raises(RuntimeError):
        v.detach_()
    assert rec.of("detached_in_place") == []


# ----------------------------------------------------------------------------- mutated


def test_mutated_versions_and_inputs(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0])
    c = a.clone()
    c.mul_(w)
    c.add_(1)
    events = [p for p in rec.of("mutated") if p["tensor"] is c]
    assert [(p["op"], p["old_version"], p["new_version"]) for p in events] == [("mul_", 0, 1), ("add_", 1, 2)]
    assert any(i is w for i in events[0]["inputs"])
    assert c._version == 2


def test_mutated_through_a_view_reports_the_shared_counter(rec):
    base = torch.zeros(3)
    base.add_(1)
    base[1] = 5.0
    events = rec.of("mutated")
    assert [(p["old_version"], p["new_version"]) for p in events] == [(0, 1), (1, 2)]
    assert events[0]["tensor"] is base
    written = events[1]["tensor"]
    assert written is base or written._base is base


def test_mutated_not_sent_when_the_edit_is_refused(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        a.add_(1)
    assert rec.of("mutated") == []
    assert a._version == 0


def test_mutated_under_no_grad_on_leaf(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.no_grad():
        a.sub_(0.5)
    p = rec.one("mutated", tensor=a)
    assert (p["old_version"], p["new_version"]) == (0, 1)


# ----------------------------------------------------------------------------- inplace_refused


def test_inplace_refused_on_leaf(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        a.mul_(2)
    p = rec.one("inplace_refused", tensor=a)
    assert p["error"] is info.value
    assert "mul_" in p["op"]


# ----------------------------------------------------------------------------- saved


def test_saved_output(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    y = a.exp()
    p = rec.one("saved", tensor=y)
    assert p["node"] is y.grad_fn
    assert p["version"] == 0
    assert p["is_output"] is True


def test_saved_inputs_of_mul(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    y = a * w
    pa = rec.one("saved", tensor=a)
    pw = rec.one("saved", tensor=w)
    assert pa["node"] is y.grad_fn and pw["node"] is y.grad_fn
    assert pa["is_output"] is False and pw["is_output"] is False


def test_saved_records_the_version_at_save_time(rec):
    c = torch.tensor([1.0, 2.0], requires_grad=True).clone()
    c.add_(1)
    c.add_(1)
    s = c.sin()
    p = rec.one("saved", tensor=c)
    assert p["node"] is s.grad_fn
    assert p["version"] == 2


def test_saved_only_what_the_formula_needs(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    a + 1
    a * 2  # a Python scalar: the tensor itself is not saved
    a.sum()
    assert rec.of("saved") == []


def test_saved_by_custom_function(rec):
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    a = torch.tensor([1.0, 2.0], requires_grad=True)
    y = Square.apply(a)
    p = rec.one("saved", tensor=a)
    assert p["node"] is y.grad_fn


# ----------------------------------------------------------------------------- backward_begin / end / error


def test_backward_begin_and_backward_end(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (a * a).sum()
    loss.backward()
    kinds = [k for k in rec.kinds() if k.startswith("backward")]
    assert kinds == ["backward_begin", "backward_end"]
    begin = rec.of("backward_begin")[0]
    assert len(begin["roots"]) == 1 and begin["roots"][0] is loss
    assert begin["inputs"] is None
    assert not begin["retain_graph"] and not begin["create_graph"]
    end = rec.of("backward_end")[0]
    assert end["roots"][0] is loss


def test_backward_begin_for_autograd_grad_names_inputs(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (a * a).sum()
    torch.autograd.grad(loss, a, create_graph=True)
    begin = rec.of("backward_begin")[0]
    assert begin["roots"][0] is loss
    assert len(begin["inputs"]) == 1 and begin["inputs"][0] is a
    assert begin["create_graph"] and begin["retain_graph"]
    assert len(rec.of("backward_end")) == 1


def test_backward_error_names_the_failing_node(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    y = a.exp()
    exp_node = y.grad_fn
    y.add_(1)  # the output ExpBackward0 saved is now at version 1
    loss = y.sum()
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    p = rec.one("backward_error", node=exp_node)
    assert p["error"] is info.value
    assert p["roots"][0] is loss
    assert rec.of("backward_end") == []


def test_backward_error_twice(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    y = a.sigmoid()
    loss = y.sum()
    loss.backward()
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    p = rec.one("backward_error", node=y.grad_fn)
    assert p["error"] is info.value


def test_backward_error_before_any_node(rec):
    d = torch.tensor([1.0, 2.0], requires_grad=True).detach().sum()
    with pytest.raises(RuntimeError) as info:
        d.backward()
    errors = rec.of("backward_error")
    assert len(errors) == 1
    assert errors[0]["error"] is info.value and errors[0]["node"] is None


# ----------------------------------------------------------------------------- accumulated


def test_accumulated_by_backward(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    (a * 3).sum().backward()
    p = rec.one("accumulated", tensor=a)
    assert p["how"] == "backward"
    assert p["grad"] is a.grad


def test_accumulated_twice_keeps_the_same_grad_tensor(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    (a * 3).sum().backward()
    first = a.grad
    (a * 3).sum().backward()
    events = [p for p in rec.of("accumulated") if p["tensor"] is a]
    assert [p["how"] for p in events] == ["backward", "backward"]
    assert events[1]["grad"] is first is a.grad
    assert a.grad.tolist() == [6.0, 6.0]


def test_accumulated_set_and_cleared(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    g = torch.tensor([0.5, 0.5])
    a.grad = g
    a.grad = None
    events = [p for p in rec.of("accumulated") if p["tensor"] is a]
    assert [(p["how"], p["grad"]) for p in events] == [("set", g), ("set", None)]
    assert events[0]["grad"] is g


def test_accumulated_cleared_zero_grad_like(rec):
    params = [torch.tensor([1.0], requires_grad=True), torch.tensor([2.0], requires_grad=True)]
    (params[0] * params[1]).sum().backward()
    for p in params:  # what optimizer.zero_grad() does in PyTorch 2.x
        p.grad = None
    cleared = [p for p in rec.of("accumulated") if p["how"] == "set"]
    assert [c["grad"] for c in cleared] == [None, None]
    assert cleared[0]["tensor"] is params[0] and cleared[1]["tensor"] is params[1]


def test_accumulated_retain(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2
    h.retain_grad()
    (h * h).sum().backward()
    p = rec.one("accumulated", tensor=h)
    assert p["how"] == "retain"
    assert p["grad"] is h.grad


# ----------------------------------------------------------------------------- value_escaped


@pytest.mark.parametrize(
    "how, use",
    [
        ("item", lambda t: t.item()),
        ("tolist", lambda t: t.tolist()),
        ("float", float),
        ("int", int),
        ("bool", bool),
    ],
)
def test_value_escaped(rec, how, use):
    a = torch.tensor([1.5], requires_grad=True)
    use(a)
    p = rec.one("value_escaped", tensor=a)
    assert p["how"] == how


def test_value_escaped_numpy_under_no_grad(rec):
    a = torch.tensor([1.5, 2.5], requires_grad=True)
    with torch.no_grad():
        arr = a.numpy()
    assert rec.one("value_escaped", tensor=a)["how"] == "numpy"
    assert rec.one("aliased", tensor=a)["array"] is arr


def test_value_escaped_from_non_leaf(rec):
    a = torch.tensor([1.5, 2.5], requires_grad=True)
    s = (a * 2).sum()
    s.item()
    assert rec.one("value_escaped", tensor=s)["how"] == "item"


def test_value_escaped_not_sent_without_requires_grad(rec):
    a = torch.tensor([1.5])
    a.item()
    a.tolist()
    float(a)
    a.numpy()
    torch.tensor([1.0], requires_grad=True).detach().item()
    assert rec.of("value_escaped") == []


# ----------------------------------------------------------------------------- flag_changed


def test_flag_changed_requires_grad_method(rec):
    a = torch.tensor([1.0, 2.0])
    a.requires_grad_()
    a.requires_grad_(False)
    events = [p for p in rec.of("flag_changed") if p["tensor"] is a]
    assert [(p["flag"], p["value"]) for p in events] == [("requires_grad", True), ("requires_grad", False)]


def test_flag_changed_requires_grad_assignment(rec):
    a = torch.tensor([1.0, 2.0])
    a.requires_grad = True
    p = rec.one("flag_changed", tensor=a)
    assert (p["flag"], p["value"]) == ("requires_grad", True)


def test_flag_changed_not_sent_when_nothing_changes_or_refused(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    a.requires_grad_()
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError):
        (a * 2).requires_grad_(False)
    assert rec.of("flag_changed") == []


def test_flag_changed_retain_grad(rec):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    h = a.exp()
    h.retain_grad()
    p = rec.one("flag_changed", tensor=h)
    assert (p["flag"], p["value"]) == ("retain_grad", True)
    h.retain_grad()  # already retaining: no second event
    assert len(rec.of("flag_changed")) == 1


# ----------------------------------------------------------------------------- the event layer keeps nothing alive


def _counting_listener(counter: list):
    def listener(kind, payload):
        counter.append(kind)

    return listener


def test_no_tensor_kept_alive_by_the_event_layer():
    kinds: list = []
    with torch.subscribe(_counting_listener(kinds)):
        a = torch.tensor([1.0, 2.0], requires_grad=True)
        b = a.exp()
        v = b[0]
        c = b.clone()
        c.mul_(2)
        loss = (c * v).sum()
        loss.backward()
        loss.item()
        d = a.detach()
        n = torch.tensor([3.0]).numpy()
        refs = [weakref.ref(x) for x in (a, b, v, c, loss, d)]
        node_ref = weakref.ref(b.grad_fn)
        del a, b, v, c, loss, d, n
        gc.collect()
        assert all(r() is None for r in refs), [r() for r in refs]
        assert node_ref() is None
    assert {"created", "aliased", "saved", "mutated", "backward_begin", "accumulated"} <= set(kinds)


def test_control_a_storing_listener_does_keep_tensors_alive():
    """The weakref check above can fail: a listener that stores payloads keeps the tensor."""
    r = Recorder()
    with torch.subscribe(r):
        a = torch.tensor([1.0, 2.0])
        ref = weakref.ref(a)
        del a
        gc.collect()
        assert ref() is not None
    r.events.clear()
    gc.collect()
    assert ref() is None


def test_listener_exceptions_propagate_and_handle_still_removes():
    def bad(kind, payload):
        raise ValueError("listener failed")

    with torch.subscribe(bad):
        with pytest.raises(ValueError, match="listener failed"):
            torch.ones(1)
    assert not _events.active


def test_events_from_another_thread_are_delivered(rec):
    made = []
    th = threading.Thread(target=lambda: made.append(torch.ones(2)))
    th.start()
    th.join()
    rec.one("created", tensor=made[0])
