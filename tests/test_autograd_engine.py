"""The backward engine: accumulation, retain_graph, retain_grad, hooks, grad modes,
custom Functions, anomaly mode and deep graphs.

Scenario functions run over a module ``t`` and return what they observed; ``EXPECTED``
is what they returned under torch 2.13.0 (CPU), and with torch installed they also run
live. Tests that need no oracle (threads, a 100,000-node chain) assert directly.
"""

from __future__ import annotations

import sys
import threading
import warnings

import pytest
from helpers import first_sentence

import gradlens_core


def name(node) -> str | None:
    return None if node is None else type(node).__name__


def attempt(fn) -> str:
    try:
        fn()
    except Exception as e:  # the scenarios record failures as data
        return f"{type(e).__name__}: {first_sentence(str(e))}"
    return "ok"


def lst(t):
    return None if t is None else [round(v, 5) for v in t.detach().reshape(-1).tolist()]


# ----------------------------------------------------------------------------- accumulation and graph


def accumulation_across_backward_calls(t):
    x = t.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    first = x.grad
    g1 = lst(x.grad)
    v0 = x.grad._version
    (x * 3).sum().backward()
    same_object = x.grad is first
    return [g1, lst(x.grad), same_object, x.grad._version > v0, x.grad.requires_grad, x.grad.is_leaf]


def accumulation_over_paths_and_broadcast(t):
    x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = t.tensor(2.0, requires_grad=True)
    y = x * b + x.exp() * x + b
    z = t.ones(2, 3) * x  # broadcast: x's grad sums over the new dim
    (y.sum() + z.sum()).backward()
    return [lst(x.grad), lst(b.grad), str(b.grad.dtype), tuple(b.grad.shape)]


def next_functions_structure(t):
    a = t.tensor([1.0], requires_grad=True)
    b = t.tensor([2.0], requires_grad=True)
    c = t.tensor([3.0])
    y = (a * b + c).sum()
    add = y.grad_fn.next_functions[0][0]
    mul = add.next_functions[0][0]
    acc_a = mul.next_functions[0][0]
    return [
        name(y.grad_fn),
        [name(n) for n, _ in add.next_functions],
        [name(n) for n, _ in mul.next_functions],
        acc_a.variable is a,
        mul.next_functions[1][0].variable is b,
        [i for _, i in mul.next_functions],
    ]


def backward_with_gradient_argument(t):
    x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.backward(t.tensor([1.0, 0.1, 0.01]))
    return lst(x.grad)


def backward_inputs_restricts_accumulation(t):
    a = t.tensor([1.0, 2.0], requires_grad=True)
    b = t.tensor([3.0, 4.0], requires_grad=True)
    h = a * b
    h.retain_grad()
    (h * h).sum().backward(inputs=[a])
    return [lst(a.grad), b.grad is None, h.grad is None]


def autograd_backward_many_roots(t):
    a = t.tensor([1.0, 2.0], requires_grad=True)
    y1 = a * 2
    y2 = (a * a).sum()
    t.autograd.backward([y1, y2], [t.tensor([1.0, 1.0]), t.tensor(0.5)])
    return lst(a.grad)


def autograd_grad_does_not_touch_grad(t):
    a = t.tensor([1.0, 2.0], requires_grad=True)
    b = t.tensor([3.0, 4.0], requires_grad=True)
    y = (a * b).sum()
    ga, gb = t.autograd.grad(y, (a, b), retain_graph=True)
    (g2,) = t.autograd.grad(y, [a], grad_outputs=t.tensor(2.0))
    return [lst(ga), lst(gb), lst(g2), a.grad is None, b.grad is None, ga.requires_grad, name(ga.grad_fn)]


def autograd_grad_create_graph(t):
    x = t.tensor([1.0, 2.0], requires_grad=True)
    y = (x**3).sum()
    (g,) = t.autograd.grad(y, x, create_graph=True)
    g_info = [lst(g), g.requires_grad, name(g.grad_fn)]
    (g2,) = t.autograd.grad(g.sum(), x)
    z = (x**2).sum()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        z.backward(create_graph=True)
    warned = [first_sentence(str(m.message)) for m in w]
    grad_info = [lst(x.grad), x.grad.requires_grad, name(x.grad.grad_fn), warned]
    return [g_info, lst(g2), grad_info]


def autograd_grad_of_non_leaf(t):
    x = t.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    y = (h * h).sum()
    (gh,) = t.autograd.grad(y, h)
    return lst(gh)


def grad_setter_validation(t):
    a = t.tensor([1.0, 2.0], requires_grad=True)
    return [
        attempt(lambda: setattr(a, "grad", t.tensor([1.0, 2.0, 3.0]))),
        attempt(lambda: setattr(a, "grad", t.tensor([1, 2]))),
        attempt(lambda: setattr(a, "grad", t.tensor([0.5, 0.5]))),
        lst(a.grad),
    ]


# ----------------------------------------------------------------------------- retain_graph and retain_grad


def retain_graph_twice(t):
    x = t.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    g1 = lst(x.grad)
    y.backward()
    return [g1, lst(x.grad), attempt(lambda: y.backward())]


def retain_grad_non_leaf(t):
    x = t.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    k = h.sigmoid()
    k.retain_grad()
    y = (k * h).sum()
    y.backward(retain_graph=True)
    first = [lst(h.grad), lst(k.grad), h.retains_grad, x.retains_grad]
    y.backward()
    x.retain_grad()  # a leaf: no-op
    return [first, lst(h.grad), lst(x.grad), h.is_leaf]


# ----------------------------------------------------------------------------- hooks


def tensor_hooks(t):
    calls = []
    x = t.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2

    def leaf_hook(g):
        calls.append(("leaf", lst(g)))
        return g * 10

    def nonleaf_hook_1(g):
        calls.append(("h1", lst(g)))
        return g + 1

    def nonleaf_hook_2(g):
        calls.append(("h2", lst(g)))  # sees hook 1's result

    hx = x.register_hook(leaf_hook)
    h.register_hook(nonleaf_hook_1)
    h.register_hook(nonleaf_hook_2)
    (h * h).sum().backward()
    g1 = lst(x.grad)
    hx.remove()
    x.grad = None
    (x * 1).sum().backward()
    return [calls, g1, lst(x.grad)]


def hook_on_retained_non_leaf_changes_retained_grad(t):
    x = t.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g * 100)
    h.sum().backward()
    return [lst(h.grad), lst(x.grad)]


def hook_handle_as_context_manager(t):
    calls = []
    x = t.tensor([1.0], requires_grad=True)
    with x.register_hook(lambda g: calls.append(1)):
        (x * 2).sum().backward()
    (x * 2).sum().backward()
    return [len(calls), lst(x.grad)]


def node_hooks_and_prehooks(t):
    calls = []
    a = t.tensor([1.0, 2.0], requires_grad=True)
    y = a * 3
    node = y.grad_fn

    def pre(grad_outputs):
        calls.append(("pre", [lst(g) for g in grad_outputs]))
        return (grad_outputs[0] * 2,)

    def post(grad_inputs, grad_outputs):
        calls.append(("post", [lst(g) for g in grad_inputs], [lst(g) for g in grad_outputs]))
        return (grad_inputs[0] + 1, grad_inputs[1])

    hp = node.register_prehook(pre)
    hh = node.register_hook(post)
    y.sum().backward(retain_graph=True)
    g1 = lst(a.grad)
    hp.remove()
    hh.remove()
    a.grad = None
    y.sum().backward()
    return [calls, g1, lst(a.grad)]


def hook_observe_only_returns_none(t):
    seen = []
    x = t.tensor([3.0], requires_grad=True)
    y = x.exp()
    y.grad_fn.register_hook(lambda gi, go: seen.append(len(gi)))
    y.grad_fn.register_prehook(lambda go: seen.append(len(go)))
    y.backward()
    return [seen, lst(x.grad)]


# ----------------------------------------------------------------------------- grad modes


def grad_mode_context_managers(t):
    x = t.tensor([1.0], requires_grad=True)
    seen = []
    with t.no_grad():
        seen.append((t.is_grad_enabled(), (x * 2).requires_grad))
        with t.enable_grad():
            seen.append((t.is_grad_enabled(), (x * 2).requires_grad))
        seen.append(t.is_grad_enabled())
    seen.append(t.is_grad_enabled())
    with t.set_grad_enabled(False):
        seen.append(((x * 2).requires_grad, t.is_grad_enabled()))
    seen.append(t.is_grad_enabled())
    t.set_grad_enabled(False)  # the function form takes effect at once
    seen.append(((x * 2).requires_grad, t.is_grad_enabled()))
    t.set_grad_enabled(True)
    seen.append(((x * 2).requires_grad, t.is_grad_enabled()))
    with t.inference_mode():
        seen.append(((x * 2).requires_grad, t.is_grad_enabled()))
    try:
        with t.no_grad():
            raise ValueError
    except ValueError:
        seen.append(t.is_grad_enabled())
    return seen


def grad_mode_decorators(t):
    x = t.tensor([1.0], requires_grad=True)

    @t.no_grad()
    def f(v):
        return v * 2, t.is_grad_enabled()

    @t.enable_grad()
    def g(v):
        return v * 2

    @t.set_grad_enabled(False)
    def h(v):
        return v * 2

    @t.no_grad()
    def gen(v):
        yield t.is_grad_enabled()
        yield (v * 2).requires_grad

    decorated_mode = t.is_grad_enabled()  # decorating with set_grad_enabled(False) changes nothing
    out, mode = f(x)
    with t.no_grad():
        inner = g(x)
    return [
        out.requires_grad,
        mode,
        t.is_grad_enabled(),
        inner.requires_grad,
        h(x).requires_grad,
        decorated_mode,
        list(gen(x)),
        t.is_grad_enabled(),
        f.__name__,
    ]


# ----------------------------------------------------------------------------- custom Function


def custom_function_save_for_backward(t):
    class Cube(t.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x**3 * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * ctx.k * g, None

    x = t.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x, 2.0)
    info = [name(y.grad_fn), y.requires_grad, y.is_leaf, lst(y)]
    y.sum().backward()
    with t.no_grad():
        z = Cube.apply(x, 2.0)
    return info + [lst(x.grad), z.requires_grad, name(z.grad_fn), attempt(lambda: y.sum().backward())]


def custom_function_needs_input_grad(t):
    seen = []

    class Mul(t.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            seen.append(tuple(ctx.needs_input_grad))
            return (g * b if ctx.needs_input_grad[0] else None, g * a if ctx.needs_input_grad[1] else None)

    a = t.tensor([1.0, 2.0], requires_grad=True)
    b = t.tensor([3.0, 4.0])
    Mul.apply(a, b).sum().backward()
    return [seen, lst(a.grad)]


def custom_function_mark_dirty(t):
    class Double_(t.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c = x.clone()
    r = Double_.apply(c)
    info = [r is c, c._version, name(c.grad_fn), lst(c)]
    (r * r).sum().backward()
    return info + [lst(x.grad)]


def custom_function_multiple_outputs_and_non_differentiable(t):
    class SplitMax(t.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x)
            return x * 2, x * 3, idx

        @staticmethod
        def backward(ctx, g2, g3, gidx):
            return g2 * 2 + g3 * 3

    x = t.tensor([1.0, 5.0, 2.0], requires_grad=True)
    a, b, i = SplitMax.apply(x)
    (a.sum() + b.sum()).backward()
    return [name(a.grad_fn), a.grad_fn is b.grad_fn, i.requires_grad, lst(i), lst(x.grad)]


def custom_function_wrong_number_of_grads(t):
    class Bad(t.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g, g, g

    x = t.tensor([1.0], requires_grad=True)
    return attempt(lambda: Bad.apply(x, x).sum().backward())


# ----------------------------------------------------------------------------- anomaly mode


def anomaly_nan_detection(t):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with t.autograd.set_detect_anomaly(True):
            x = t.tensor([-1.0, 4.0], requires_grad=True)
            y = x.sqrt()
            r = attempt(lambda: y.sum().backward())
    warned = [first_sentence(str(m.message)) for m in w if issubclass(m.category, UserWarning)]
    x2 = t.tensor([-1.0, 4.0], requires_grad=True)
    x2.sqrt().sum().backward()
    return [r, warned, x.grad is None, [str(v) for v in x2.grad.tolist()]]


def anomaly_detect_anomaly_context(t):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with t.autograd.detect_anomaly():
            x = t.tensor([0.0], requires_grad=True)
            r = attempt(lambda: (x / x).sum().backward())
    return r


def anomaly_same_results_without_nan(t):
    x = t.tensor([1.0, 2.0], requires_grad=True)
    with t.autograd.set_detect_anomaly(True):
        (x.sin() * x).sum().backward()
    return lst(x.grad)


SCENARIOS = [
    accumulation_across_backward_calls,
    accumulation_over_paths_and_broadcast,
    next_functions_structure,
    backward_with_gradient_argument,
    backward_inputs_restricts_accumulation,
    autograd_backward_many_roots,
    autograd_grad_does_not_touch_grad,
    autograd_grad_create_graph,
    autograd_grad_of_non_leaf,
    grad_setter_validation,
    retain_graph_twice,
    retain_grad_non_leaf,
    tensor_hooks,
    hook_on_retained_non_leaf_changes_retained_grad,
    hook_handle_as_context_manager,
    node_hooks_and_prehooks,
    hook_observe_only_returns_none,
    grad_mode_context_managers,
    grad_mode_decorators,
    custom_function_save_for_backward,
    custom_function_needs_input_grad,
    custom_function_mark_dirty,
    custom_function_multiple_outputs_and_non_differentiable,
    custom_function_wrong_number_of_grads,
    anomaly_nan_detection,
    anomaly_detect_anomaly_context,
    anomaly_same_results_without_nan,
]

# What each scenario returned under torch 2.13.0 (CPU).
EXPECTED: dict = {
    "accumulation_across_backward_calls": [[2.0, 4.0], [5.0, 7.0], True, True, False, True],
    "accumulation_over_paths_and_broadcast": [[9.43656, 26.16717, 84.34215], [9.0], "torch.float32", ()],
    "next_functions_structure": [
        "SumBackward0",
        ["MulBackward0", None],
        ["AccumulateGrad", "AccumulateGrad"],
        True,
        True,
        [0, 0],
    ],
    "backward_with_gradient_argument": [2.0, 0.2, 0.02],
    "backward_inputs_restricts_accumulation": [[18.0, 64.0], True, False],
    "autograd_backward_many_roots": [3.0, 4.0],
    "autograd_grad_does_not_touch_grad": [[3.0, 4.0], [1.0, 2.0], [6.0, 8.0], True, True, False, None],
    "autograd_grad_create_graph": [
        [[3.0, 12.0], True, "MulBackward0"],
        [6.0, 12.0],
        [
            [2.0, 4.0],
            True,
            "CopyBackwards",
            [
                "Using backward() with create_graph=True will create a reference cycle between the parameter and "
                "its gradient which can cause a memory leak."
            ],
        ],
    ],
    "autograd_grad_of_non_leaf": [5.43656, 14.77811],
    "grad_setter_validation": [
        "RuntimeError: attempting to assign a gradient of size '[3]' to a tensor of size '[2]'.",
        "RuntimeError: attempting to assign a gradient with dtype 'long int' to a tensor with grad_dtype 'Float'.",
        "ok",
        [0.5, 0.5],
    ],
    "retain_graph_twice": [
        [5.43656, 22.16717],
        [10.87313, 44.33434],
        "RuntimeError: Trying to backward through the graph a second time (or directly "
        "access saved tensors after they have already been freed).",
    ],
    "retain_grad_non_leaf": [
        [[1.0881, 1.01233], [3.0, 6.0], True, False],
        [2.17621, 2.02465],
        [6.52862, 6.07396],
        False,
    ],
    "tensor_hooks": [[("h1", [4.0, 8.0]), ("h2", [5.0, 9.0]), ("leaf", [10.0, 18.0])], [100.0, 180.0], [1.0, 1.0]],
    "hook_on_retained_non_leaf_changes_retained_grad": [[100.0, 100.0], [200.0, 200.0]],
    "hook_handle_as_context_manager": [1, [4.0]],
    "node_hooks_and_prehooks": [
        [("pre", [[1.0, 1.0]]), ("post", [[6.0, 6.0], None], [[2.0, 2.0]])],
        [7.0, 7.0],
        [3.0, 3.0],
    ],
    "hook_observe_only_returns_none": [[1, 1], [20.08554]],
    "grad_mode_context_managers": [
        (False, False),
        (True, True),
        False,
        True,
        (False, False),
        True,
        (False, False),
        (True, True),
        (False, False),
        True,
    ],
    "grad_mode_decorators": [False, False, True, True, False, True, [False, False], True, "f"],
    "custom_function_save_for_backward": [
        "CubeBackward",
        True,
        False,
        [2.0, 16.0],
        [6.0, 24.0],
        False,
        None,
        "RuntimeError: Trying to backward through the graph a second time (or "
        "directly access saved tensors after they have already been freed).",
    ],
    "custom_function_needs_input_grad": [[(True, False)], [3.0, 4.0]],
    "custom_function_mark_dirty": [True, 2, "Double_Backward", [2.0, 4.0, 6.0], [8.0, 16.0, 24.0]],
    "custom_function_multiple_outputs_and_non_differentiable": ["SplitMaxBackward", True, False, [1], [5.0, 5.0, 5.0]],
    "custom_function_wrong_number_of_grads": "RuntimeError: function BadBackward returned an incorrect number "
    "of gradients (expected 2, got 3)",
    "anomaly_nan_detection": [
        "RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th output.",
        ["Error detected in SqrtBackward0."],
        True,
        ["nan", "0.25"],
    ],
    "anomaly_detect_anomaly_context": "RuntimeError: Function 'DivBackward0' returned nan values in its 1th output.",
    "anomaly_same_results_without_nan": [1.38177, 0.077],
}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_matches_recorded_torch(scenario):
    assert scenario(gradlens_core) == EXPECTED[scenario.__name__]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_matches_live_torch(scenario, torch):
    theirs = scenario(torch)
    assert theirs == EXPECTED[scenario.__name__], "the recorded expectation is stale"
    assert scenario(gradlens_core) == theirs


# ----------------------------------------------------------------------------- without an oracle


def test_grad_mode_is_thread_local():
    t = gradlens_core
    seen = {}
    x = t.tensor([1.0], requires_grad=True)

    def worker():
        seen["enabled_in_thread"] = t.is_grad_enabled()
        seen["records_in_thread"] = (x * 2).requires_grad
        t.set_grad_enabled(False)  # must not leak into the main thread
        seen["disabled_in_thread"] = t.is_grad_enabled()

    with t.no_grad():
        th = threading.Thread(target=worker)
        th.start()
        th.join()
        assert not t.is_grad_enabled()
    assert seen == {"enabled_in_thread": True, "records_in_thread": True, "disabled_in_thread": False}
    assert t.is_grad_enabled() and (x * 2).requires_grad


def test_backward_through_100000_node_chain_without_recursion_error():
    t = gradlens_core
    x = t.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    limit = sys.getrecursionlimit()
    y.sum().backward()
    assert sys.getrecursionlimit() == limit
    assert x.grad.tolist() == [1.0]
    assert y.tolist() == [100_001.0]


def test_deep_chain_of_saved_ops_with_autograd_grad():
    t = gradlens_core
    x = t.tensor([0.5], dtype=t.float64, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    (g,) = t.autograd.grad(y.sum(), x)
    assert g.tolist() == pytest.approx([1.0001**20_000], rel=1e-9)


def test_freed_graph_releases_saved_tensors():
    import gc
    import weakref

    t = gradlens_core
    x = t.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = h.exp()  # saves its output
    ref = weakref.ref(h)
    out_ref = weakref.ref(y)
    loss = y.sum()
    loss.backward()
    del h, y
    gc.collect()
    assert ref() is None  # nothing of the graph keeps h alive
    assert out_ref() is None  # the freed ExpBackward0 no longer holds its output
    assert loss.grad_fn is not None


def anomaly_flag_nesting(t):
    seen = [t.is_anomaly_enabled()]
    with t.autograd.set_detect_anomaly(True):
        seen.append(t.is_anomaly_enabled())
        with t.autograd.set_detect_anomaly(False):
            seen.append(t.is_anomaly_enabled())
        seen.append(t.is_anomaly_enabled())
        with t.autograd.detect_anomaly():
            seen.append(t.is_anomaly_enabled())
    seen.append(t.is_anomaly_enabled())
    return seen


def test_anomaly_flag_nesting():
    # torch exposes the flag as torch.is_anomaly_enabled(); recorded from torch 2.13
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert anomaly_flag_nesting(gradlens_core) == [False, True, False, True, True, False]


def test_anomaly_flag_nesting_live(torch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert anomaly_flag_nesting(gradlens_core) == anomaly_flag_nesting(torch)
