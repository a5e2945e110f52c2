"""Every learning rule against an independent reference, float64.

FA and DFA against Chu & Bacho's equations (3) and (6) written as plain Python loops;
exact identities (FA with B = W is BP, DFA with R = W₂ᵀ is BP, perturbed BP's cosine and
norm, a = 1 is BP); frozen layers; the zero-init deadlock (appendix A.1); fixed points.
"""

from __future__ import annotations

import gc
import math
import re
from pathlib import Path

import numpy as np
import pytest

import minifa as mf
from minifa.errors import ConfigError

from minifa.init import feedback_sampler
from minifa import streams
from minifa.streams import Streams

from .conftest import host, tiny_batch, tiny_dataset

SIZES = (6, 5, 4, 3)


def make(backend, rule, sizes=SIZES, seeds=(0, 1), **kw):
    kw.setdefault("init_scale", 0.6)
    cfg = mf.Config(layers=sizes, rule=rule, dtype="float64", seeds=list(seeds), **kw)
    return mf.build(cfg, backend)


def batch(backend, sizes=SIZES, **kw):
    x, y, labels = tiny_batch(sizes, **kw)
    return backend.asarray(x), backend.asarray(y), labels


def loop_reference(W, b, feedback, x, y, mode: str):
    """Eq. (3) (``mode="fa"``), eq. (6) (``"dfa"``) or DRTP's ``δ_l = (R_l y*) ⊙ f'(h_l)``,
    averaged over the batch like the loss (``"drtp"``, Frenkel et al. 2021), for one member,
    as scalar loops.

    tanh hidden layers, linear output, logit cross-entropy: e = (softmax(h_L) − y)/B."""
    L, B = len(W), x.shape[1]
    xs, hs = [x], []
    for l in range(L):
        h = np.zeros((W[l].shape[0], B))
        for i in range(W[l].shape[0]):
            for n in range(B):
                h[i, n] = b[l][i] + sum(W[l][i, j] * xs[l][j, n] for j in range(W[l].shape[1]))
        hs.append(h)
        if l < L - 1:
            xs.append(np.tanh(h))
    e = np.zeros_like(hs[-1])
    for n in range(B):
        p = np.exp(hs[-1][:, n] - hs[-1][:, n].max())
        p /= p.sum()
        e[:, n] = (p - y[:, n]) / B
    deltas = [None] * L
    deltas[-1] = e
    for l in range(L - 2, -1, -1):
        d = np.zeros_like(hs[l])
        for i in range(d.shape[0]):
            for n in range(B):
                if mode == "dfa":  # eq. (6): δ_l = (R_l e) ⊙ f'(h_l)
                    s = sum(feedback[l][i, k] * e[k, n] for k in range(e.shape[0]))
                elif mode == "drtp":  # the target, not the error: δ_l = (R_l y*) ⊙ f'(h_l), per sample / B
                    s = sum(feedback[l][i, k] * y[k, n] for k in range(y.shape[0])) / B
                else:  # eq. (3): δ_l = (B_{l+1}ᵀ δ_{l+1}) ⊙ f'(h_l)
                    s = sum(feedback[l + 1][k, i] * deltas[l + 1][k, n] for k in range(deltas[l + 1].shape[0]))
                d[i, n] = s * (1.0 - np.tanh(hs[l][i, n]) ** 2)
        deltas[l] = d
    dW = [np.array([[sum(deltas[l][i, n] * xs[l][j, n] for n in range(B)) for j in range(W[l].shape[1])]
                    for i in range(W[l].shape[0])]) for l in range(L)]
    db = [deltas[l].sum(axis=1) for l in range(L)]
    return dW, db


@pytest.mark.parametrize("rule", ["fa", "dfa", "drtp"])
def test_fa_dfa_and_drtp_match_the_papers_equations_as_loops(backend, rule):
    run = make(backend, rule, loss="logitcrossentropy")
    rng = np.random.default_rng(5)  # non-zero biases so they enter the reference
    run.params.biases = [backend.asarray(0.2 * rng.standard_normal(backend.to_host(b).shape)) for b in run.params.biases]
    x, y, _ = batch(backend)
    updates = mf.batch_updates(run, x, y)
    W, b, F = host(backend, run.params.weights), host(backend, run.params.biases), host(backend, run.rule.feedback)
    for r in range(run.params.members):
        dW, db = loop_reference([w[r] for w in W], [v[r, :, 0] for v in b], [f[r] for f in F],
                                backend.to_host(x), backend.to_host(y), mode=rule)
        for l, u in enumerate(updates):
            np.testing.assert_allclose(backend.to_host(u.weight)[r], dW[l], rtol=0, atol=1e-12)
            np.testing.assert_allclose(backend.to_host(u.bias)[r, :, 0], db[l], rtol=0, atol=1e-12)


def assert_updates_close(backend, got, want, atol):
    for g, w in zip(got, want):
        np.testing.assert_allclose(backend.to_host(g.weight), backend.to_host(w.weight), rtol=0, atol=atol)
        np.testing.assert_allclose(backend.to_host(g.bias), backend.to_host(w.bias), rtol=0, atol=atol)


def bp_updates(backend, run, x, y):
    xp = backend.xp
    cache = mf.forward(xp, run.net, run.params, x)
    return mf.gradient(xp, run.net, run.params, cache, mf.output_error(xp, run.net, cache, y))


def test_fa_with_feedback_equal_to_weights_is_bp(backend):
    run = make(backend, "fa")
    run.rule.feedback = [backend.xp.asarray(w, copy=True) for w in run.params.weights]
    x, y, _ = batch(backend)
    assert_updates_close(backend, mf.batch_updates(run, x, y), bp_updates(backend, run, x, y), 1e-12)


def test_dfa_with_r_equal_to_w2_transposed_is_bp_on_one_hidden_layer(backend):
    sizes = (6, 5, 3)
    run = make(backend, "dfa", sizes=sizes)
    run.rule.feedback = [backend.xp.matrix_transpose(run.params.weights[1])]
    x, y, _ = batch(backend, sizes)
    assert_updates_close(backend, mf.batch_updates(run, x, y), bp_updates(backend, run, x, y), 1e-12)


def test_sign_symmetry_is_fa_with_feedback_sign_w(backend):
    run, fa = make(backend, "sign-symmetry"), make(backend, "fa")
    fa.rule.feedback = [backend.xp.sign(w) for w in run.params.weights]
    x, y, _ = batch(backend)
    assert_updates_close(backend, mf.batch_updates(run, x, y), mf.batch_updates(fa, x, y), 1e-15)


def test_drtp_trains_from_the_targets_alone(backend):
    """DRTP's hidden errors do not depend on the output error: two batches with the same
    inputs and targets but different outputs give the same hidden δ; and it learns."""
    run = make(backend, "drtp", sizes=(12, 10, 8, 4), seeds=[0])
    x, y, _ = batch(backend, (12, 10, 8, 4))
    first = mf.batch_updates(run, x, y)
    run.params.weights[-1] = 2.0 * run.params.weights[-1]  # other outputs, other error e
    second = mf.batch_updates(run, x, y)
    for l in range(2):
        np.testing.assert_array_equal(backend.to_host(first[l].weight), backend.to_host(second[l].weight))
    assert not np.array_equal(backend.to_host(first[-1].weight), backend.to_host(second[-1].weight))
    data = mf.DeviceData.from_dataset(backend, tiny_dataset(), "float64")  # 4 classes: chance 0.25
    final = {rule: mf.train(make(backend, rule, sizes=(12, 10, 8, 4), seeds=[0, 1, 2], lr=0.5, batch_size=20, init_scale=0.1),
                            data, 10).history["epochs"]["test_accuracy"][-1].mean() for rule in ("drtp", "last-layer")}
    assert final["drtp"] > 0.45 and final["drtp"] > final["last-layer"] + 0.2, final  # its hidden layers learn


@pytest.mark.parametrize("rule", ["frsf", "brsf"])
def test_sign_concordant_feedback_is_fa_with_sign_w_times_random_magnitudes(backend, rule):
    """``B_l = sign(W_l) ⊙ |R_l|``, ``R_l`` drawn from each member's feedback stream (an
    independent ``Streams`` replays it), against eq. (3) as loops; brSF draws the next ``R``
    after every step (with ``Backend.normal``'s generator on the same stream), frSF never."""
    run = make(backend, rule, loss="logitcrossentropy")
    x, y, labels = batch(backend)
    for step in range(2):
        if step:
            mf.train_step(run, x, y, backend.asarray(labels), measure=False)
        W, b = host(backend, run.params.weights), host(backend, run.params.biases)
        updates = mf.batch_updates(run, x, y)
        for r, seed in enumerate(run.config.seeds):
            replay = Streams(seed)["feedback"]
            draws = [[np.abs(feedback_sampler("normal", shape)(replay)) for shape in run.net.shapes]]
            draws.append([np.abs(streams.normal([replay], shape, "float64")[0]) for shape in run.net.shapes])
            R = draws[step if rule == "brsf" else 0]
            B = [np.sign(w[r]) * m for w, m in zip(W, R)]
            np.testing.assert_array_equal(backend.to_host(run.rule.weight_feedback(run.params)[1])[r], B[1].astype(np.float64))
            dW, db = loop_reference([w[r] for w in W], [v[r, :, 0] for v in b], B, backend.to_host(x), backend.to_host(y), "fa")
            for l, u in enumerate(updates):
                np.testing.assert_allclose(backend.to_host(u.weight)[r], dW[l], rtol=0, atol=1e-12)
                np.testing.assert_allclose(backend.to_host(u.bias)[r, :, 0], db[l], rtol=0, atol=1e-12)


@pytest.mark.parametrize("rule", ["frsf", "brsf"])
def test_sign_concordant_feedback_with_unit_magnitudes_is_sign_symmetry_bit_for_bit(backend, rule):
    """|R| = 1 (``pm1`` draws): the same weights and step metrics as sign symmetry, bit for bit."""
    runs = [make(backend, name, metrics_every=1, rule_options=options)
            for name, options in ((rule, {"magnitudes": "pm1"}), ("sign-symmetry", {}))]
    x, y, labels = batch(backend)
    rows = [[mf.train_step(run, x, y, backend.asarray(labels), measure=True) for _ in range(4)] for run in runs]
    for a, b in zip(host(backend, runs[0].params.weights + runs[0].params.biases),
                    host(backend, runs[1].params.weights + runs[1].params.biases)):
        np.testing.assert_array_equal(a, b)
    for ra, rb in zip(*rows):
        assert ra.keys() == rb.keys()
        for key in ra:
            np.testing.assert_array_equal(backend.to_host(ra[key]), backend.to_host(rb[key]), err_msg=key)


def flat_cosine_and_norm(g, t):
    """Cosine and norm ratio of one member's flattened arrays, independently of minifa."""
    g, t = np.concatenate([a.ravel() for a in g]), np.concatenate([a.ravel() for a in t])
    return g @ t / (np.linalg.norm(g) * np.linalg.norm(t)), np.linalg.norm(g) / np.linalg.norm(t)


@pytest.mark.parametrize("joint", [False, True])
def test_perturbed_bp_has_the_exact_target_cosine_and_bps_norm(backend, joint):
    check_perturbed_cosines(backend, joint)


@pytest.mark.parametrize("joint", [False, True])
def test_perturbed_bp_on_cupy_has_the_exact_target_cosine_and_bps_norm(joint):
    """On a GPU the directions come from a device stream (``Backend.normal``): the same exact
    cosine and norm; runs only where CuPy sees a GPU."""
    if not mf.backend.gpu_available():
        pytest.skip("no GPU here: CuPy absent or no CUDA device")
    check_perturbed_cosines(mf.get_backend("gpu"), joint)


def check_perturbed_cosines(backend, joint):
    targets = [-1.0, -0.55, 0.0, 0.3, 0.999]
    run = make(backend, "perturbed", seeds=range(len(targets)), rule_options={"alignment": targets, "joint": joint})
    x, y, _ = batch(backend)
    got, true = mf.batch_updates(run, x, y), bp_updates(backend, run, x, y)
    for l in range(len(SIZES) - 1):
        g, t = [host(backend, got[l]), host(backend, true[l])]
        for r, a in enumerate(targets):
            pieces = [(g[0][r],), (g[1][r],)] if not joint else [(g[0][r], g[1][r])]
            truth = [(t[0][r],), (t[1][r],)] if not joint else [(t[0][r], t[1][r])]
            for gp, tp in zip(pieces, truth):
                cos, ratio = flat_cosine_and_norm(gp, tp)
                want = 1.0 if l == len(SIZES) - 2 else a  # the output layer stays exact
                assert abs(cos - want) <= 1e-9 and abs(ratio - 1.0) <= 1e-9, (l, r, cos, ratio)


def test_perturbed_bp_at_alignment_one_is_bp(backend):
    run = make(backend, "perturbed", rule_options={"alignment": 1.0})
    x, y, _ = batch(backend)
    assert_updates_close(backend, mf.batch_updates(run, x, y), bp_updates(backend, run, x, y), 0.0)


def test_perturbed_alignment_outside_the_interval_is_refused(cpu):
    with pytest.raises(ConfigError, match=r"outside \[-1, 1\]"):
        make(cpu, "perturbed", rule_options={"alignment": 1.5})


def train_steps(backend, run, steps=4):
    x, y, labels = batch(backend)
    for _ in range(steps):
        mf.train_step(run, x, y, backend.asarray(labels), measure=False)


def test_last_layer_only_leaves_hidden_weights_bit_identical(backend):
    run = make(backend, "last-layer")
    before = host(backend, run.params.weights + run.params.biases)
    train_steps(backend, run)
    after = host(backend, run.params.weights + run.params.biases)
    hidden = list(range(len(SIZES) - 2)) + [len(SIZES) - 1 + l for l in range(len(SIZES) - 2)]
    for i, (b, a) in enumerate(zip(before, after)):
        if i in hidden:
            assert np.array_equal(b, a)
        else:
            assert not np.array_equal(b, a)


def test_zero_init_deadlocks_bp_but_not_fa(backend):
    """Appendix A.1: with all-zero weights BP's hidden layers get zero error forever; FA's
    random B carries the output error down, so they move."""
    for rule, stuck in (("bp", True), ("fa", False)):
        run = make(backend, rule, init_scale=0.0)
        train_steps(backend, run, steps=5)
        hidden = host(backend, run.params.weights[:-1] + run.params.biases[:-1])
        assert all(not h.any() for h in hidden) == stuck, rule


@pytest.mark.parametrize("rule", list(mf.RULES))
def test_every_rule_is_still_where_the_output_error_vanishes(backend, rule):
    """A fixed point: targets equal to the network's own output give e = 0 and no update."""
    run = make(backend, rule, loss="mse", rule_options={"alignment": 0.3} if rule == "perturbed" else {})
    if rule == "drtp":
        pytest.skip("DRTP's hidden layers learn from the targets, not the error: e = 0 stops only its output layer")
    xp = backend.xp
    x, _, _ = batch(backend)
    y = mf.forward(xp, run.net, run.params, x).output
    for update in mf.batch_updates(run, x, y):
        if update is not None:
            assert not backend.to_host(update.weight).any() and not backend.to_host(update.bias).any()


def test_kolen_pollack_feedback_converges_to_the_weights(backend):
    """With decay λ on W and B, both get the same update, so W − B shrinks by (1 − ηλ) a step."""
    lr, decay, steps = 0.05, 0.5, 6
    run = make(backend, "kolen-pollack", lr=lr, weight_decay=decay, rule_options={"decay": decay})
    gap0 = [w - b for w, b in zip(host(backend, run.params.weights), host(backend, run.rule.feedback))]
    train_steps(backend, run, steps)
    gap = [w - b for w, b in zip(host(backend, run.params.weights), host(backend, run.rule.feedback))]
    for g0, g in zip(gap0, gap):
        np.testing.assert_allclose(g, (1 - lr * decay) ** steps * g0, rtol=0, atol=1e-12)


def test_a_rule_must_say_what_it_provides():
    """The loop never inspects a rule's methods: a rule class declares deltas or updates."""
    assert {cls.provides for cls in mf.RULES.values()} <= {"deltas", "updates"}

    class Vague(mf.rules.Rule):
        name = "vague"

    with pytest.raises(TypeError, match="rule 'vague' must say what it provides"):
        mf.rules._discover()
    del Vague
    gc.collect()  # the registry walks live subclasses


def test_no_rule_file_or_loop_code_inspects_methods_to_choose_a_path():
    """The loop dispatches on the declared ``provides``; nothing compares a rule's methods or
    class (``type(rule).after_step is Rule.after_step``, ``Rule.deltas`` identities)."""
    package = Path(mf.__file__).parent
    files = [*sorted((package / "rules").glob("*.py")), package / "training.py", package / "diagnostics.py",
             package / "__init__.py"]
    inspecting = re.compile(r"type\([^)]*\)\.\w+\s+is\b|\bis\s+(not\s+)?Rule\.\w+|__func__|isinstance\([^)]*Rule")
    found = [f"{f.name}: {line.strip()}" for f in files for line in f.read_text().splitlines() if inspecting.search(line)]
    assert found == []
    assert inspecting.search("if type(rule).after_step is Rule.after_step:")  # the pattern can fail


def test_the_readme_shows_a_whole_rule_file_as_it_reads():
    package = Path(mf.__file__).parent
    readme = (package.parent / "README.md").read_text()
    shown = readme.split("`minifa/rules/sign_symmetry.py`:\n\n```python\n", 1)[1].split("```", 1)[0]
    assert shown == (package / "rules" / "sign_symmetry.py").read_text()


def test_unknown_rules_and_options_are_one_line_errors(cpu):
    with pytest.raises(ConfigError, match="unknown rule 'fx'; choose one of bp, brsf, dfa, drtp, fa, frsf"):
        make(cpu, "fx")
    with pytest.raises(ConfigError, match="rule 'bp' has no option 'feedback'"):
        make(cpu, "bp", rule_options={"feedback": "pm1"})
    with pytest.raises(ConfigError, match="unknown feedback 'gauss'"):
        make(cpu, "fa", rule_options={"feedback": "gauss"})


def test_feedback_initialisers_have_the_stated_distributions(cpu):
    shapes = (40, 300, 200, 10)
    pm1 = make(cpu, "fa", sizes=shapes, seeds=[0]).rule.feedback[1]
    assert set(np.unique(cpu.to_host(pm1))) == {-1.0, 1.0}
    normal = cpu.to_host(make(cpu, "fa", sizes=shapes, seeds=[0], rule_options={"feedback": "normal", "feedback_scale": 2.0}).rule.feedback[1])
    assert abs(normal.std() - 2.0) < 0.02 and abs(normal.mean()) < 0.02  # 60,000 draws: sd of the estimates ≈ 0.006
    uniform = cpu.to_host(make(cpu, "fa", sizes=shapes, seeds=[0], rule_options={"feedback": "uniform"}).rule.feedback[1])
    assert uniform.min() >= -1.0 and uniform.max() < 1.0 and abs(uniform.std() - 1 / math.sqrt(3)) < 0.01


@pytest.mark.parametrize("rule", ["bp", "dfa", "sign-symmetry", "perturbed", "drtp", "frsf", "brsf"])
def test_weights_from_feedback_needs_drawn_feedback_of_the_weights_shape(cpu, rule):
    """Figure 4's coupling needs a B_l drawn once with W_l's shape: FA and Kolen-Pollack."""
    cfg = mf.Config(layers=(6, 5, 3), rule=rule, weights_from_feedback="equal", seeds=[0])
    with pytest.raises(ConfigError, match=f"not '{rule}'"):
        mf.build(cfg, cpu)
    for ok in ("fa", "kolen-pollack"):
        run = mf.build(mf.Config(layers=(6, 5, 3), rule=ok, weights_from_feedback="equal", seeds=[0]), cpu)
        weights, feedback = host(cpu, run.params.weights), host(cpu, run.rule.feedback)
        assert all(np.array_equal(w, np.float32(0.05) * b) for w, b in zip(weights, feedback))
