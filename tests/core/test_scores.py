"""Scores of generators through a classifier: the Fréchet distance and the inception score against known values."""

import numpy as np
import pytest
import torch

from wavegen.core.scores import (evaluate_generation, format_scores, frechet_distance,
                                 frechet_distance_from_statistics, inception_score)


def test_frechet_distance_of_known_gaussians_is_the_closed_form():
    # Diagonal covariances: d² = |μ1 − μ2|² + Σ (σ1 + σ2 − 2 √(σ1 σ2)), with σ the variances.
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    exact = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    assert frechet_distance_from_statistics(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(exact)
    # A full covariance, rotated: the distance is invariant to rotating both sets.
    rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    assert frechet_distance_from_statistics(rotation @ mu1, rotation @ np.diag(var1) @ rotation.T,
                                            rotation @ mu2, rotation @ np.diag(var2) @ rotation.T
                                            ) == pytest.approx(exact)


def test_frechet_distance_of_samples_approaches_the_closed_form():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200_000, 2, generator=g) * torch.tensor([1.0, 2.0])
    b = torch.randn(200_000, 2, generator=g) * torch.tensor([2.0, 1.0]) + torch.tensor([3.0, 0.0])
    exact = 9.0 + (1 + 4 - 2 * 2) + (4 + 1 - 2 * 2)
    assert frechet_distance(a, b) == pytest.approx(exact, rel=0.02)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_inception_score_spans_one_to_the_number_of_classes():
    confident = torch.eye(10).repeat(30, 1)             # every class equally often, each prediction certain
    assert inception_score(confident, splits=1)[0] == pytest.approx(10.0, rel=1e-6)
    assert 9 < inception_score(confident, splits=3)[0] <= 10      # splits of a shuffle: nearly balanced
    one_class = torch.zeros(300, 10)
    one_class[:, 3] = 1
    assert inception_score(one_class, splits=3)[0] == pytest.approx(1.0, abs=1e-6)
    unsure = torch.full((300, 10), 0.1)
    assert inception_score(unsure, splits=3)[0] == pytest.approx(1.0, abs=1e-6)


class _Oracle:
    """A 'classifier' of 2-d points: class = which side of x = 0; features = the point itself."""

    def predict(self, x):
        p1 = (x[:, 0] > 0).double()
        return torch.stack([1 - p1, p1], 1), x.double()


def test_evaluate_generation_puts_a_copying_and_a_collapsed_generator_where_they_belong():
    g = torch.Generator().manual_seed(1)
    train = torch.randn(400, 2, generator=g)
    test = torch.randn(200, 2, generator=g)
    labels = lambda x: (x[:, 0] > 0).long()            # noqa: E731
    rows = evaluate_generation({"copy": lambda n, s: train[:n], "collapsed": lambda n, s: torch.full((n, 2), 1.0)},
                               _Oracle(), (test, labels(test)), (train, labels(train)), count=200, splits=2)
    by_name = {r["name"]: r for r in rows}
    assert [r["name"] for r in rows] == ["real test examples", "real training examples", "copy", "collapsed"]
    assert by_name["real test examples"]["accuracy"] == 1.0
    assert by_name["copy"]["nn_train"] == 0.0 < by_name["real training examples"]["nn_train"]
    assert by_name["collapsed"]["nn_self"] == 0.0 and by_name["collapsed"]["inception_score"] == pytest.approx(1.0)
    assert by_name["collapsed"]["frechet"] > 10 * by_name["copy"]["frechet"]
    table = format_scores(rows, "points")
    assert table.splitlines()[0].startswith("points") and len(table.splitlines()) == 5


def test_inception_score_refuses_more_splits_than_examples_in_one_line():
    with pytest.raises(ValueError) as excinfo:
        inception_score(torch.eye(2)[:1], splits=10)
    assert str(excinfo.value) == "the inception score cannot split 1 example into 10 parts: use at most 1 split"
    with pytest.raises(ValueError, match="at least 1 example"):
        inception_score(torch.zeros(0, 2), splits=1)


def test_a_small_real_set_is_scored_over_fewer_splits_and_the_table_says_so():
    """A cgan run on a folder with 2 test images died in inception_score (N >= splits); now that row takes 2."""
    g = torch.Generator().manual_seed(1)
    train, test = torch.randn(40, 2, generator=g), torch.randn(2, 2, generator=g)
    labels = lambda x: (x[:, 0] > 0).long()            # noqa: E731
    rows = evaluate_generation({"gen": lambda n, s: train[:n] + 0.1}, _Oracle(), (test, labels(test)),
                               (train, labels(train)), count=20, splits=10, noun="points")
    assert [r["splits"] for r in rows] == [2, 10, 10]
    lines = format_scores(rows, "points").splitlines()
    assert len(lines) == 5
    assert lines[-1] == "(real test points: inception score over 2 splits, not 10, as there are only 2 points)"


def test_fewer_than_two_real_or_generated_examples_are_refused_before_scoring():
    one = torch.ones(1, 2)
    two = torch.randn(2, 2, generator=torch.Generator().manual_seed(0))
    never = lambda n, s: pytest.fail("scored before checking")      # noqa: E731
    for test, train, count, message in ((one, two, 2, "at least 2 real test points, got 1 point"),
                                        (two, one, 2, "at least 2 real training points, got 1 point"),
                                        (two, two, 1, "at least 2 generated points, got 1 point")):
        with pytest.raises(ValueError) as excinfo:
            evaluate_generation({"gen": never}, _Oracle(), (test, torch.zeros(len(test))),
                                (train, torch.zeros(len(train))), count=count, splits=1, noun="points")
        assert str(excinfo.value) == f"the Fréchet distance needs {message}"
