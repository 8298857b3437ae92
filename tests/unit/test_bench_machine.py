"""The benchmark records how the interpreter was built: the same Python version runs the hot
path markedly slower from a shared libpython than from an executable holding the interpreter.
It records the softswitch's settings from the environment too, such as a shorter T1."""

from __future__ import annotations

from bench import machine, report


def test_the_interpreter_build_is_recorded_with_the_machine() -> None:
    build = machine.describe()["python_build"]
    assert set(build) == {"shared_libpython", "enable_optimizations", "with_lto"}
    assert all(value is None or isinstance(value, bool) for value in build.values())
    assert "executable" not in build  # results name no machine's folders


def test_the_report_says_where_the_interpreter_runs_from_and_how_it_was_configured() -> None:
    shared = {"shared_libpython": True, "enable_optimizations": False, "with_lto": False}
    assert report._python_build(shared) == (
        "interpreter in a shared libpython; configured without --enable-optimizations, "
        "without --with-lto"
    )
    static = {"shared_libpython": False, "enable_optimizations": True, "with_lto": True}
    assert report._python_build(static) == (
        "interpreter in the executable; configured with --enable-optimizations, with --with-lto"
    )
    assert report._python_build(None) == "not recorded"  # results of runs before it


def test_the_machine_table_has_the_interpreter_build() -> None:
    results = {"command": "test", "machine": machine.describe()}
    assert "| Python build | interpreter in " in report.markdown(results)


def test_the_softswitch_settings_a_run_was_made_with_are_recorded(monkeypatch) -> None:
    for name in [name for name in machine.os.environ if name.startswith("SOFTSWITCH_")]:
        monkeypatch.delenv(name)
    results = {"command": "test", "machine": machine.describe()}
    assert "| softswitch settings from the environment | none (the defaults) |" in (
        report.markdown(results)
    )
    monkeypatch.setenv("SOFTSWITCH_SIP_T1", "0.1")
    monkeypatch.setenv("SOFTSWITCH_DATABASE_URL", "postgresql://bench:secret@db/bench")
    results = {"command": "test", "machine": machine.describe()}
    assert results["machine"]["settings"] == {"SOFTSWITCH_SIP_T1": "0.1"}  # no password
    assert "| softswitch settings from the environment | `SOFTSWITCH_SIP_T1=0.1` |" in (
        report.markdown(results)
    )
