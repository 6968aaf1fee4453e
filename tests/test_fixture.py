"""The ``perf`` fixture end to end: perf(fn), perf.sample(), perf.record(), and misuse."""

from __future__ import annotations

from collections.abc import Callable

import pytest

AssertClean = Callable[[pytest.RunResult], None]


def _row(result: pytest.RunResult, name: str) -> list[str]:
    """The summary-table row of test ``name``, split into cells."""
    return next(line for line in result.outlines if f"::{name} " in line).split()


def test_perf_returns_the_result_of_one_call(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_it(perf):
            assert perf(sorted, [3, 1, 2]) == [1, 2, 3]
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_perf_passes_positional_and_keyword_arguments(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def add(a, b, *, scale):
            return (a + b) * scale

        def test_it(perf):
            assert perf(add, 1, 2, scale=10) == 30
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_perf_calls_the_function_many_times(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        calls = []

        @pytest.mark.budget(p95=200)
        def test_it(perf):
            perf(calls.append, 1)
            assert len(calls) > 10
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_perf_shows_each_warning_of_the_calls_once(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import warnings

        def old():
            for n in (1, 2):
                warnings.warn(f"old API {n}", DeprecationWarning)

        def test_deprecated(perf):
            perf(old)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1, warnings=2)
    result.stdout.fnmatch_lines(
        ["*: DeprecationWarning: old API 1", "*: DeprecationWarning: old API 2"]
    )


def test_perf_inside_pytest_warns_passes_the_warning_on(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import warnings
        import pytest

        def old():
            warnings.warn("old API", DeprecationWarning)

        def test_deprecated(perf, recwarn):
            with pytest.warns(DeprecationWarning, match="old API"):
                perf(old)
            assert len(recwarn) == 0  # pytest.warns kept the one it matched

        def test_recorded(perf, recwarn):
            perf(old)
            assert [str(w.message) for w in recwarn] == ["old API"]
        """
    )
    project.runpytest().assert_outcomes(passed=2)


def test_perf_of_a_slow_function_fails_its_budget(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.budget(p95="2ms")
        def test_it(perf):
            perf(time.sleep, 0.01)
        """
    )
    result = project.runpytest("-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*::test_it OVER BUDGET*", "*p95 * is over its 2.00 ms budget*"])


def test_perf_awaits_a_coroutine_function(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        async def double(x):
            return 2 * x

        @pytest.mark.budget(p95=200)
        def test_it(perf):
            assert perf(double, 21) == 42
        """
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_sample_loop_is_measured_and_reported(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95=200)
        def test_loop(perf):
            for _ in range(37):
                with perf.sample():
                    sum(range(100))
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    row = _row(result, "test_loop")
    assert row[1] == "pass"
    assert row[-1] == "37"


def test_recorded_durations_are_reported(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95="5ms")
        def test_external(perf):
            for _ in range(20):
                perf.record(0.001)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    row = _row(result, "test_external")
    assert row[1:7] == ["pass", "p95", "1.00", "ms", "5.00", "ms"]
    assert row[-1] == "20"


def test_recorded_durations_over_budget_fail_the_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95="5ms")
        def test_external(perf):
            for _ in range(20):
                perf.record(0.05)
        """
    )
    result = project.runpytest("-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*::test_external OVER BUDGET*",
            "*p95 50.0 ms is over its 5.00 ms budget*",
            "*decided on the test's own 20 samples, without a re-measurement*",
        ]
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [("-1", "-1"), ("'1s'", "'1s'"), ("float('nan')", "nan"), ("True", "True"), ("None", "None")],
)
def test_recording_a_bad_value_fails_with_a_clear_message(
    project: pytest.Pytester, value: str, shown: str
) -> None:
    project.makepyfile(
        f"""
        def test_it(perf):
            perf.record({value})
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*perf.record() got {shown}; expected a duration in seconds: a finite number >= 0*"]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_calling_perf_twice_fails_with_a_clear_message(
    project: pytest.Pytester, assert_clean: AssertClean
) -> None:
    project.makepyfile(
        """
        def test_it(perf):
            perf(len, "a")
            perf(len, "b")
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*perf() cannot follow perf() in the same test: one test measures one thing*"]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_mixing_sample_and_record_fails_with_a_clear_message(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_it(perf):
            with perf.sample():
                pass
            perf.record(0.001)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*perf.record() cannot follow perf.sample() in the same test*"])


def test_mixing_record_and_perf_fails_with_a_clear_message(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_it(perf):
            perf.record(0.001)
            perf(len, "a")
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*perf() cannot follow perf.record() in the same test*"])


def test_perf_needs_a_callable(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_it(perf):
            perf(42)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*perf() needs a callable as its first argument, got 42*"])


def test_a_perf_test_without_a_budget_is_measured_and_reported_as_pass(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        def test_unbudgeted(perf):
            perf(sum, range(10))
        """
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*= perfbudget: 1 pass =*"])
    assert _row(result, "test_unbudgeted")[1:3] == ["pass", "p50"]


def test_an_exception_inside_the_measured_function_fails_the_test_normally(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import pytest

        def boom():
            raise KeyError("missing")

        @pytest.mark.budget(p95=200)
        def test_it(perf):
            perf(boom)
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*KeyError: 'missing'*"])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    result.stdout.no_fnmatch_line("*OVER BUDGET*")


def test_a_failing_assertion_after_perf_is_a_failure_not_over_budget(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.budget(p95="2ms")
        def test_it(perf):
            perf(time.sleep, 0.01)
            assert 1 + 1 == 3
        """
    )
    result = project.runpytest("-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*::test_it FAILED*", "*assert (1 + 1) == 3*"])
    result.stdout.no_fnmatch_line("*OVER BUDGET*")
    result.stdout.no_fnmatch_line("*over budget*")


def test_a_sample_block_that_raises_fails_the_test_normally(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_it(perf):
            with perf.sample():
                raise ValueError("inside the block")
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ValueError: inside the block*"])
