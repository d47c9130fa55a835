"""Property tests: any surface, start, optimizer and learning rate gives a run that is finite
or marked diverged, never a crash; the same seed gives the same run."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landscape.optimizers import PRESETS, get_optimizer
from landscape.surfaces import SURFACES
from landscape.trajectory import trace

_names = st.sampled_from([n for n in PRESETS if n != "lbfgs"])
_surfaces = st.sampled_from(list(SURFACES))
_fractions = st.floats(0, 1)
_lrs = st.floats(1e-6, 1e3)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_surfaces, _names, _lrs, _fractions, _fractions, st.floats(0, 10))
def test_runs_are_finite_or_marked_diverged(surface_name, name, lr, fx, fy, noise):
    surface = SURFACES[surface_name]
    (x0, x1), (y0, y1) = surface.domain
    start = (x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
    t = trace(surface, get_optimizer(name, lr=lr), starts=[start], steps=40, noise=noise)
    valid = np.arange(t.steps + 1) <= t.last[0]
    assert np.isfinite(t.xy[valid]).all() and np.isfinite(t.loss[valid]).all()
    assert np.isnan(t.xy[~valid]).all()
    assert t.diverged[0] == (t.diverged_at[0] >= 0)


@settings(max_examples=10, deadline=None)
@given(_surfaces, _names, st.integers(0, 2**31), st.floats(0.01, 5))
def test_same_seed_same_run(surface_name, name, seed, noise):
    surface = SURFACES[surface_name]
    a = trace(surface, name, steps=25, noise=noise, seed=seed)
    b = trace(surface, name, steps=25, noise=noise, seed=seed)
    np.testing.assert_array_equal(a.xy, b.xy)
    np.testing.assert_array_equal(a.loss, b.loss)
