"""The ``budget`` marker end to end: accepted forms, merging, and one test per error message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

AssertClean = Callable[[pytest.RunResult], None]


def _one_test(pytester: pytest.Pytester, marker: str, body: str = "pass") -> None:
    pytester.makepyfile(
        f"""
        import time
        import pytest

        @pytest.mark.budget({marker})
        def test_it():
            {body}
        """
    )


def _each_as_param(pytester: pytest.Pytester, markers: list[str], body: str = "pass") -> None:
    params = ", ".join(
        f"pytest.param(None, marks=pytest.mark.budget({m}), id={m!r})" for m in markers
    )
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.parametrize("unused", [{params}])
        def test_it(unused):
            {body}
        """
    )


# -- accepted forms ---------------------------------------------------------------


def test_every_statistic_key_is_accepted(project: pytest.Pytester) -> None:
    keys = ["p50", "p75", "p90", "p95", "p99", "p999", "median", "mean", "max"]
    _each_as_param(project, [f"{key}=200" for key in keys])
    result = project.runpytest("-v")
    result.assert_outcomes(passed=len(keys))


def test_a_bare_number_is_milliseconds(project: pytest.Pytester) -> None:
    _one_test(project, "p95=2", body="time.sleep(0.01)")
    result = project.runpytest("-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*p95 * is over its 2.00 ms budget*"])


def test_a_generous_bare_number_passes_a_trivial_test(project: pytest.Pytester) -> None:
    _one_test(project, "p95=200")
    project.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    "limit", ["200000000ns", "200000us", "200000µs", "200ms", "0.2s", "200 ms"]
)
def test_duration_strings_with_a_unit_are_accepted(project: pytest.Pytester, limit: str) -> None:
    _one_test(project, f"p95={limit!r}")
    project.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize("limit", ["2000000ns", "2000us", "2000µs", "2ms", "0.002s"])
def test_duration_units_scale_the_limit(project: pytest.Pytester, limit: str) -> None:
    _one_test(project, f"p95={limit!r}", body="time.sleep(0.01)")
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*is over its 2.00 ms budget*"])


def test_memory_units_are_parsed_with_decimal_and_binary_prefixes(project: pytest.Pytester) -> None:
    # The test allocates 3 MB once per call; each limit below is on one side of it.
    small = ["1000000", "'1000000B'", "'1000KB'", "'1MB'", "'1024KiB'", "'1MiB'"]
    large = ["'4MB'", "'4MiB'", "'4096 KiB'", "'1GB'", "'1GiB'", "'1.5 GiB'"]
    _each_as_param(project, [f"memory={m}" for m in small + large], body="bytearray(3_000_000)")
    result = project.runpytest("-v")
    result.assert_outcomes(passed=len(large), failed=len(small))
    result.stdout.fnmatch_lines(["*test_it?memory=*1MB*OVER BUDGET*"])
    result.stdout.fnmatch_lines(["*test_it?memory=*1GiB*PASSED*"])


@pytest.mark.parametrize("regression", ["'10%'", "0.1", "False"])
def test_regression_forms_are_accepted(project: pytest.Pytester, regression: str) -> None:
    _one_test(project, f"p95=200, regression={regression}")
    project.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    "knob",
    ["rounds=7", "max_time='50ms'", "max_time=50", "warmup=False", "warmup='5ms'", "warmup=True",
     "timer='wall'", "timer='cpu'", "gc=False", "gc=True"],
)  # fmt: skip
def test_measurement_knobs_are_accepted(project: pytest.Pytester, knob: str) -> None:
    _one_test(project, f"p95=200, {knob}")
    project.runpytest().assert_outcomes(passed=1)


def test_rounds_sets_the_minimum_number_of_samples(project: pytest.Pytester) -> None:
    _one_test(project, "p95=200, rounds=321, max_time='5s'")
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    row = next(line for line in result.outlines if "::test_it " in line)
    assert int(row.split()[-1]) >= 321


def test_the_cpu_timer_does_not_count_sleeping(project: pytest.Pytester) -> None:
    _one_test(project, "p95='2ms', timer='cpu'", body="time.sleep(0.01)")
    project.runpytest().assert_outcomes(passed=1)


def test_the_markers_listing_shows_the_budget_marker(project: pytest.Pytester) -> None:
    result = project.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.budget(p95=200, ...): performance budget*"])


# -- class and function markers ------------------------------------------------------


def _class_and_function(pytester: pytest.Pytester, on_class: str, on_function: str) -> None:
    pytester.makepyfile(
        f"""
        import time
        import pytest

        @pytest.mark.budget({on_class})
        class TestThing:
            @pytest.mark.budget({on_function})
            def test_it(self):
                time.sleep(0.01)
        """
    )


def test_the_function_marker_wins_over_the_class_marker_for_the_same_key(
    project: pytest.Pytester,
) -> None:
    _class_and_function(project, on_class="p95='1ms'", on_function="p95=200")
    project.runpytest().assert_outcomes(passed=1)


def test_class_marker_keys_the_function_marker_does_not_set_still_apply(
    project: pytest.Pytester,
) -> None:
    _class_and_function(project, on_class="p50='1ms'", on_function="p95=200")
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*p50 * is over its 1.00 ms budget*"])


def test_the_function_timer_wins_over_the_class_timer(project: pytest.Pytester) -> None:
    _class_and_function(project, on_class="p95='2ms', timer='wall'", on_function="timer='cpu'")
    project.runpytest().assert_outcomes(passed=1)


# -- error messages -----------------------------------------------------------------


def _bad_marker(pytester: pytest.Pytester, marker: str, clean: AssertClean) -> pytest.RunResult:
    _one_test(pytester, marker)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*invalid budget for test_*.py::test_it: *"])
    clean(result)
    return result


def test_an_unknown_key_errors_naming_it_and_listing_valid_keys(
    project: pytest.Pytester, assert_clean: AssertClean
) -> None:
    result = _bad_marker(project, "p96=200", assert_clean)
    result.stdout.fnmatch_lines(
        ["*unknown key 'p96' (value 200); valid keys are p50, p75, p90, p95, p99, p999, mean,*"]
    )


def test_an_unparsable_value_errors_with_the_valid_duration_forms(
    project: pytest.Pytester, assert_clean: AssertClean
) -> None:
    result = _bad_marker(project, "p95='fast'", assert_clean)
    result.stdout.fnmatch_lines(
        ["*p95='fast' is not a duration; expected a number of milliseconds*ns, us, µs, ms, s*"]
    )


def test_a_duration_with_an_unknown_unit_errors(
    project: pytest.Pytester, assert_clean: AssertClean
) -> None:
    result = _bad_marker(project, "p95='5 min'", assert_clean)
    result.stdout.fnmatch_lines(["*p95='5 min' is not a duration; expected*"])


def test_a_negative_limit_errors(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "p95=-5", assert_clean)
    result.stdout.fnmatch_lines(["*p95=-5 must be greater than zero; expected a number of*"])


def test_a_zero_limit_errors(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "p50='0ms'", assert_clean)
    result.stdout.fnmatch_lines(["*p50='0ms' must be greater than zero; expected*"])


def test_positional_arguments_error(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "200", assert_clean)
    result.stdout.fnmatch_lines(
        ["*positional arguments are not accepted (got 200); name the statistic, e.g. budget(p95*"]
    )


def test_a_value_of_the_wrong_type_errors(
    project: pytest.Pytester, assert_clean: AssertClean
) -> None:
    result = _bad_marker(project, "p95=[1]", assert_clean)
    result.stdout.fnmatch_lines(["*p95=[[]1[]] is not a duration; expected a number of*"])


def test_a_boolean_limit_errors(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "p95=True", assert_clean)
    result.stdout.fnmatch_lines(["*p95=True is not a duration; expected*"])


def test_a_bad_timer_errors(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "p95=200, timer='gpu'", assert_clean)
    result.stdout.fnmatch_lines(["*timer='gpu' is not valid; expected 'wall' or 'cpu'*"])


def test_bad_rounds_error(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "p95=200, rounds=0", assert_clean)
    result.stdout.fnmatch_lines(["*rounds=0 is not valid; expected a whole number of samples*"])


def test_fractional_rounds_error(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "p95=200, rounds=2.5", assert_clean)
    result.stdout.fnmatch_lines(["*rounds=2.5 is not valid; expected a whole number*"])


def test_a_bad_gc_errors(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "p95=200, gc='off'", assert_clean)
    result.stdout.fnmatch_lines(["*gc='off' is not valid; expected True or False*"])


def test_a_bad_memory_errors(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "memory='64 MBs'", assert_clean)
    result.stdout.fnmatch_lines(["*memory='64 MBs' is not a size; expected a number of bytes*KiB*"])


def test_a_bad_regression_errors(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "p95=200, regression='ten'", assert_clean)
    result.stdout.fnmatch_lines(["*regression='ten' is not a ratio; expected a percentage*"])


def test_a_bad_warmup_errors(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "p95=200, warmup='long'", assert_clean)
    result.stdout.fnmatch_lines(["*warmup='long' is not valid; expected True, False, 0,*"])


def test_a_bad_marker_on_one_test_leaves_the_others_running(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.budget(p95="soon")
        def test_bad():
            pass

        @pytest.mark.budget(p95=200)
        def test_good():
            pass
        """
    )
    project.runpytest().assert_outcomes(passed=1, errors=1)


def test_median_and_p50_together_error(project: pytest.Pytester, assert_clean: AssertClean) -> None:
    result = _bad_marker(project, "median=5, p50=10", assert_clean)
    result.stdout.fnmatch_lines(["*median=5 and p50=10 budget the same statistic (median is p50)*"])
