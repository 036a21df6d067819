"""`python -m mlci.review.sweep`: what it refuses before anything runs (the runs themselves: test_sweep_pipeline)."""

from __future__ import annotations

from mlci.review import sweep as sweep_cli


def test_main__over_the_cap_is_one_line_and_exit_2(write_params, capsys, tmp_dir):
    write_params(sweep={"grid": {"train.seed": list(range(3)), "train.max_categories": [2, 5, 10]}})

    code = sweep_cli.main([])

    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "error: sweep: params.yaml: sweep has 9 runs (a 3 x 3 grid), more than sweep.max_runs 8; shrink the sweep "
        "or raise sweep.max_runs (at most 64)\n"
    )
    assert not (tmp_dir / "report").exists(), "nothing is written"


def test_main__no_sweep_declared(write_params, capsys, tmp_dir):
    write_params(train={"model": "random_forest"})

    assert sweep_cli.main([]) == 0

    assert "no sweep declared" in capsys.readouterr().out
    assert not (tmp_dir / "report").exists()
