"""Song, Xu & Lafferty's setting: the two-layer 1/√p network, per-member weight decay, the
code's MNIST alignment measure, and FA with b = β (refreshed) being BP."""

from __future__ import annotations

import numpy as np
import pytest

import minifa as mf
from minifa.ensemble import keep_members
from minifa.errors import ConfigError
from minifa.experiments import song_fig2, song_fig2_claims
from minifa.metrics import signal_alignment

from .conftest import host, tiny_batch, tiny_dataset

P = 30


def song(backend, rule="fa", l2=0.0, seeds=(2,), classes=1, loss="mse"):
    cfg = mf.Config(layers=(8, P, classes), activation="relu", loss=loss, bias=False, output_scale=P ** -0.5,
                    dtype="float64", init_scale=1.0, rule=rule, rule_options={"feedback": "normal"} if rule == "fa" else {},
                    lr=0.05, weight_decay=[0.0, l2], batch_size=20, shuffle=False, seeds=list(seeds))
    return mf.build(cfg, backend)


def test_fa_with_b_refreshed_to_beta_is_bp(backend):
    """b = β at every step (the feedback copied from the current output weights) makes FA's
    updates BP's, step after step (1e-12)."""
    fa, bp = song(backend, "fa", l2=0.1), song(backend, "bp", l2=0.1)
    x, y, _ = tiny_batch((8, P, 1), batch=20, regression=True)
    x, y = backend.asarray(x), backend.asarray(y)
    for _ in range(5):
        fa.rule.feedback = [backend.xp.asarray(w, copy=True) for w in fa.params.weights]
        mf.train_step(fa, x, y, None, False)
        mf.train_step(bp, x, y, None, False)
    for a, b in zip(host(backend, fa.params.weights), host(backend, bp.params.weights)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_per_member_decay_equals_separate_runs(backend):
    """λ per member (Song's MNIST runs share one network across λ = 0, 0.1, 0.3)."""
    lams = [0.0, 0.1, 0.3]
    together = song(backend, l2=lams, seeds=[2, 2, 2])
    x, y, _ = tiny_batch((8, P, 1), batch=20, regression=True)
    for _ in range(4):
        mf.train_step(together, backend.asarray(x), backend.asarray(y), None, False)
    for r, lam in enumerate(lams):
        alone = song(backend, l2=lam)
        for _ in range(4):
            mf.train_step(alone, backend.asarray(x), backend.asarray(y), None, False)
        for a, b in zip(host(backend, together.params.weights), host(backend, alone.params.weights)):
            np.testing.assert_allclose(a[r], b[0], rtol=0, atol=1e-12)


def test_signal_alignment_is_the_codes_batch_mean_of_cosines(backend):
    rng = np.random.default_rng(0)
    e, B, W = rng.standard_normal((2, 10, 7)), rng.standard_normal((2, 10, 30)), rng.standard_normal((2, 10, 30))
    got = backend.to_host(signal_alignment(backend.xp, *(backend.asarray(a) for a in (e, B, W))))
    for r in range(2):
        cosines = [(B[r].T @ e[r, :, i]) @ (W[r].T @ e[r, :, i])
                   / (np.linalg.norm(B[r].T @ e[r, :, i]) * np.linalg.norm(W[r].T @ e[r, :, i])) for i in range(7)]
        assert abs(got[r] - np.mean(cosines)) <= 1e-12


def test_signal_alignment_is_recorded_with_the_step_metrics(cpu):
    run = song(cpu, classes=10, loss="logitcrossentropy")
    x, y, labels = tiny_batch((8, P, 10), batch=20)
    metrics = mf.train_step(run, cpu.asarray(x), cpu.asarray(y), cpu.asarray(labels), True)
    assert metrics["signal_alignment"].shape == (1,) and -1 <= float(metrics["signal_alignment"][0]) <= 1


def members_run(backend, rule="fa", seeds=(3, 5, 8), scales=(0.05, 0.3, 1.0), l2=(0.0, 0.1, 0.4), options=None):
    cfg = mf.Config(layers=(12, 10, 8, 4), dtype="float64", batch_size=32, lr=0.1, rule=rule, seeds=list(seeds),
                    init_scale=list(scales), weight_decay=[0.0, 0.0, list(l2)], rule_options=options or {})
    return mf.build(cfg, backend)


@pytest.mark.parametrize("rule,options", [("fa", {}), ("perturbed", {"alignment": [0.2, -0.5, 0.9]})])
def test_kept_members_carry_on_exactly_as_in_the_whole_ensemble(backend, rule, options):
    """``keep_members`` mid-training: weights, biases, feedback B, data order and perturbation
    streams, per-member scale, decay and alignment all continue as in the full run (1e-12)."""
    data = mf.DeviceData.from_dataset(backend, tiny_dataset(), "float64")
    whole, part = members_run(backend, rule, options=options), members_run(backend, rule, options=options)
    mf.train(part, data, epochs=1)
    part = keep_members(part, [2, 0])
    assert part.config.seeds == [8, 3] and part.config.init_scale == [1.0, 0.05] and part.step == whole.step + 10
    mf.train(whole, data, epochs=3)
    mf.train(part, data, epochs=3)
    for a, b in zip(host(backend, whole.params.weights + whole.params.biases),
                    host(backend, part.params.weights + part.params.biases)):
        np.testing.assert_allclose(b, a[[2, 0]], rtol=0, atol=1e-12)


def test_song_members_stop_on_their_own_and_a_stopped_one_is_not_updated(cpu):
    """Two members of one ensemble (λ = 0 and a large λ, whose loss settles at once) stop at
    different steps by the code's rule; the one stopped first ends exactly as a run of its own
    stopped at that step, and its loss is no longer recorded after it."""
    settings = {"max_steps": 600, "loss_every": 5, "check_every": 20, "tolerance": 1e-4}

    def ensemble(seeds, lams):
        cfg = mf.Config(layers=(15, P, 1), activation="relu", loss="mse", bias=False, output_scale=P ** -0.5,
                        dtype="float64", init_scale=1.0, rule="fa", rule_options={"feedback": "normal"}, lr=0.05,
                        weight_decay=[0.0, lams], batch_size=10, shuffle=False, seeds=seeds)
        return mf.build(cfg, cpu)

    seeds = song_fig2.member_seeds({"networks": {"relu": [0.05, [0.0, 3.0]]}, "reps": 1}, "relu", 0.0, P)
    x, y = song_fig2.member_data(cpu, {"n": 10, "d": 15}, "relu", P, seeds * 2, "float64")
    out = song_fig2.train_until_settled(ensemble(seeds * 2, [0.0, 3.0]), x, y, settings, limit=40)
    first, last = np.argmin(out["steps"]), np.argmax(out["steps"])
    assert out["steps"][first] < out["steps"][last] and out["stopped_by_rule"][first]
    alone = ensemble(seeds, [0.0, 3.0][first])
    for _ in range(out["steps"][first]):
        mf.train_step(alone, x[first:first + 1], y[first:first + 1], None, False)
    np.testing.assert_allclose(out["alignment"][first], song_fig2.final_alignment(alone)[0], rtol=0, atol=1e-12)
    after = out["loss_step"] >= out["steps"][first]
    assert after.any() and np.all(np.isnan(out["loss"][after, first])) and np.all(np.isfinite(out["loss"][:, last]))


def authors_loop(run, x, y, limit, every, tolerance, max_steps):
    """The authors' stopping loop (``simulation_align.py``) for one run, as plain Python: a
    check every ``every`` steps from the start (at t % every == every − 1, on the loss before
    update t) latches ``continue_flag`` off at the first change < ``tolerance`` since the last
    check (the first against 0), and ``while t < limit or continue_flag`` runs on."""
    t, continue_flag, loss_record = 0, True, 0.0
    while (t < limit or continue_flag) and t < max_steps:
        loss = float(mf.train_step(run, x, y, None, False)["loss"][0])  # computed before the update
        if t % every == every - 1:
            if abs(loss - loss_record) < tolerance:
                continue_flag = False
            loss_record = loss
        t += 1
    return t, song_fig2.final_alignment(run)[0]


@pytest.mark.parametrize("limit", [290, 160])
def test_song_fig2_stops_every_member_where_the_authors_loop_does(cpu, limit):
    """Four members of one ensemble (linear, λ 0 … 3) stop at the steps of the authors' loop run
    alone, and end with its cos(β, b) (1e-10): one latched before the minimum stops at it
    (290, not a multiple of the checks; at 160 it latches at the minimum's own check), the
    others at their first small change after it."""
    settings = {"max_steps": 3000, "loss_every": 5, "check_every": 20, "tolerance": 1e-3}
    lams, seeds = [0.0, 0.3, 1.0, 3.0], [11, 12, 13, 14]

    def ensemble(seeds, lams):
        cfg = mf.Config(layers=(15, P, 1), activation="identity", loss="mse", bias=False, output_scale=P ** -0.5,
                        dtype="float64", init_scale=1.0, rule="fa", rule_options={"feedback": "normal"}, lr=0.01,
                        weight_decay=[0.0, lams], batch_size=10, shuffle=False, seeds=seeds)
        return mf.build(cfg, cpu)

    x, y = song_fig2.member_data(cpu, {"n": 10, "d": 15}, "linear", P, seeds, "float64")
    out = song_fig2.train_until_settled(ensemble(seeds, lams), x, y, settings, limit)
    assert out["stopped_by_rule"].all() and limit in out["steps"] and (out["steps"] > limit + 500).sum() >= 2
    for r in range(4):
        steps, alignment = authors_loop(ensemble(seeds[r:r + 1], lams[r]), x[r:r + 1], y[r:r + 1], limit, 20, 1e-3,
                                        settings["max_steps"])
        assert out["steps"][r] == steps
        assert abs(out["alignment"][r] - alignment) <= 1e-10


def test_song_fig2_minimum_is_the_authors_proportion_step():
    """``np.rint(n_step·√p // np.rint(√200))`` with n_step = 5000, at every width of the sweep."""
    for p in [200 * 2**k for k in range(7)] + list(range(1, 3001)):
        assert song_fig2.min_steps(p) == int(np.rint(5000 * np.sqrt(p) // np.rint(np.sqrt(200)))), p


def test_song_fig2_seeds_differ_across_networks_lambdas_widths_and_repetitions():
    config = song_fig2.PROFILES["paper"]
    seeds = [s for net, (_, lams) in config["networks"].items() for lam in lams for p in config["widths"]
             for s in song_fig2.member_seeds(config, net, lam, p)]
    assert len(seeds) == len(set(seeds)) == 3 * 4 * 7 * 50


def test_song_fig2_long_seeds_are_distinct_and_its_first_three_repetitions_are_those_of_three():
    """long's repetitions vary per width (50 at p = 200 … 3 from 1600): each width's seeds are
    distinct, and its first three are the 3-repetition design's, so growing a width's count
    only adds runs."""
    config = song_fig2.PROFILES["long"]
    assert [song_fig2.reps_at(config, p) for p in config["widths"]] == [50, 10, 5, 3, 10, 3, 3]
    seeds = [s for net, (_, lams) in config["networks"].items() for lam in lams for p in config["widths"]
             for s in song_fig2.member_seeds(config, net, lam, p)]
    assert len(seeds) == len(set(seeds)) == 3 * 4 * (50 + 10 + 5 + 10 + 3 * 3)
    three = {**config, "reps": 3}
    assert song_fig2.member_seeds(config, "tanh", 0.001, 200)[:3] == song_fig2.member_seeds(three, "tanh", 0.001, 200)
    with pytest.raises(ConfigError, match="2 counts for 7 widths"):
        song_fig2.reps_at({**config, "reps": [5, 3]}, 200)


def test_song_fig2_runs_and_plots_with_repetitions_per_width(tmp_path):
    pytest.importorskip("matplotlib")
    from minifa.experiments import experiment
    from minifa.experiments.executors import LocalExecutor
    from minifa.experiments.runner import plot_experiment, run_experiment
    from minifa.experiments.store import Results

    module = experiment("song-fig2")
    overrides = {"networks": {"relu": song_fig2.NETWORKS["relu"]}, "reps": [3, 1]}
    path = run_experiment(module, "tiny", tmp_path, overrides, executor=LocalExecutor(1))
    results = Results.load(path)
    assert {p: song_fig2_claims.unit(results, "relu", 0.0, p)["alignment"].shape for p in (20, 40)} == {20: (3,), 40: (1,)}
    assert plot_experiment(module, path, tmp_path / "figures").stat().st_size > 0
