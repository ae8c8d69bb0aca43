"""Derivatives of every covariance structure agree with finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from trialkit.errors import ModelSpecificationError
from trialkit.models.covariance import make_structure
from trialkit.vocabulary import COVARIANCE_STRUCTURES


@pytest.mark.parametrize("name", COVARIANCE_STRUCTURES)
def test_derivatives_match_finite_differences(name: str) -> None:
    rng = np.random.default_rng(1)
    st = make_structure(name, 4)
    phi = rng.normal(scale=0.3, size=st.n_params)
    theta = st.theta_from_phi(phi)
    assert np.allclose(st.phi_from_theta(theta), phi)
    sig = st.sigma(theta)
    assert np.allclose(sig, sig.T)
    h = 1e-6
    d = st.dsigma(theta)
    d2 = st.d2sigma(theta)
    J = st.dtheta_dphi(phi)
    for k in range(st.n_params):
        e = np.zeros(st.n_params)
        e[k] = h
        fd = (st.sigma(theta + e) - st.sigma(theta - e)) / (2 * h)
        assert np.allclose(d[k], fd, atol=1e-6)
        fd2 = (st.dsigma(theta + e) - st.dsigma(theta - e)) / (2 * h)
        ref = np.zeros_like(fd2) if d2 is None else d2[k]
        assert np.allclose(ref, fd2, atol=1e-5)
        fdj = (st.theta_from_phi(phi + e) - st.theta_from_phi(phi - e)) / (2 * h)
        assert np.allclose(J[:, k], fdj, atol=1e-6)
    assert len(st.param_names()) == st.n_params


def test_unknown_structure() -> None:
    with pytest.raises(ModelSpecificationError, match="unknown covariance structure 'foo'"):
        make_structure("foo", 3)


@pytest.mark.parametrize("name", COVARIANCE_STRUCTURES)
def test_curvature_matches_finite_differences(name: str) -> None:
    rng = np.random.default_rng(2)
    st = make_structure(name, 4)
    phi = rng.normal(scale=0.3, size=st.n_params)
    g = rng.normal(size=st.n_params)
    h = 1e-5
    ref = np.zeros((st.n_params, st.n_params))
    for k in range(st.n_params):
        e = np.zeros(st.n_params)
        e[k] = h
        ref[:, k] = g @ ((st.dtheta_dphi(phi + e) - st.dtheta_dphi(phi - e)) / (2 * h))
    assert np.allclose(st.curvature_phi(phi, g), 0.5 * (ref + ref.T), atol=1e-6)
