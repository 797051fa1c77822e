"""The command line as a user types it: one-line errors, exit codes, help text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

CLI = [sys.executable, "-c", "from scientist.cli import main; main()"]


def scientist(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCIENTIST_OFFLINE": "1"}  # doctor must not probe real hosts from a test
    return subprocess.run([sys.executable, "-c", "from scientist.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_every_command_has_one_sentence_help():
    done = scientist("--help")
    assert done.returncode == 0
    for name in ("run", "resume", "status", "approve", "reject", "runs", "failures", "review",
                 "review-bench", "doctor", "literature", "sandbox", "template"):
        assert f" {name} " in done.stdout
    sub = scientist("sandbox", "run", "--help")
    assert "Run a command in the sandbox" in sub.stdout


def test_bad_config_is_one_line_exit_2(tmp_path):
    (tmp_path / "scientist.toml").write_text("budget_usd = 'lots'")
    done = subprocess.run([sys.executable, "-c", "from scientist.cli import main; main()", "runs"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "budget_usd" in done.stderr and "Traceback" not in done.stderr


def test_runs_lists_nothing_then_json(tmp_path):
    done = scientist("runs", "--runs-dir", str(tmp_path / "runs"), "--json")
    assert done.returncode == 0 and json.loads(done.stdout) == []


def test_doctor_json_has_the_documented_keys(tmp_path):
    done = scientist("doctor", "--json", "--model", "openai/gpt-4o-mini")
    report = json.loads(done.stdout)
    assert {"model", "latex", "sandbox", "network"} <= report.keys()
    assert set(report["sandbox"]["backends"]) == {"docker", "bwrap", "process"}
    assert all({"ok", "reason"} <= set(b) for b in report["sandbox"]["backends"].values())
    assert report["network"]["sources"]["arxiv"]["reason"].startswith("not checked: offline")


@pytest.mark.slow
def test_doctor_checks_the_embedded_model_for_real():
    done = scientist("doctor", "--json", "--check-model", timeout=300)
    model = json.loads(done.stdout)["model"]
    assert done.returncode == 0, done.stderr
    assert model["ok"] and model["checked"] and model["tokens_per_s"] > 0


def test_sandbox_run_prints_output_and_a_one_line_result(tmp_path):
    done = scientist("sandbox", "run", "--workdir", str(tmp_path), "--", "python", "-c",
                     "open('made.txt', 'w').write('1'); print('hello from inside')")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello from inside\n"
    assert done.stderr.strip().startswith("[") and " ok in " in done.stderr
    assert (tmp_path / "made.txt").read_text() == "1"


def test_sandbox_run_json_and_failure_exit_code():
    done = scientist("sandbox", "run", "--json", "--timeout", "1", "--", "python", "-c", "while True: pass")
    result = json.loads(done.stdout)
    assert done.returncode == 1 and result["timed_out"] and result["killed_by_limit"] == "time"


def test_sandbox_process_backend_needs_an_explicit_opt_in():
    done = scientist("sandbox", "run", "--backend", "process", "--", "true")
    assert done.returncode == 2 and "refused" in done.stderr and "Traceback" not in done.stderr
    done = scientist("sandbox", "run", "--backend", "process", "--allow-unsafe", "--", "true")
    assert done.returncode == 0 and "UNSAFE" in done.stderr


def test_literature_search_without_network_answers_fast_with_json(tmp_path):
    import time

    # Both web sources at a closed loopback port: what "no network" looks like, without touching one.
    env = {k: v for k, v in os.environ.items() if k != "SCIENTIST_OFFLINE"}
    env.update(SCIENTIST_ARXIV_URL="http://127.0.0.1:9/api/query?{}", SCIENTIST_OPENALEX_URL="http://127.0.0.1:9/works",
               XDG_CACHE_HOME=str(tmp_path))
    # "Fast" is measured beside the same command on a local index in the same test (the start-up both
    # pay, under whatever else loads the machine): no retries, no back-off waits on a dead source.
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{k1, title={Grokking modular arithmetic}, author={Power, A}, year={2022}}\n")
    started = time.perf_counter()
    local = subprocess.run([*CLI, "literature", "search", "grokking", "--source", "local", "--local", str(bib),
                            "--json"], capture_output=True, text=True, timeout=60, env=env)
    reference = time.perf_counter() - started
    assert local.returncode == 0, local.stderr
    started = time.perf_counter()
    done = subprocess.run([*CLI, "literature", "search", "grokking", "--json"], capture_output=True, text=True,
                          timeout=60, env=env)
    assert time.perf_counter() - started < reference + 10, f"the local search took {reference:.1f} s"
    result = json.loads(done.stdout)
    assert done.returncode == 1 and result["sources_used"] == []
    assert set(result["sources_unreachable"]) == {"arxiv", "openalex"}
    assert "Traceback" not in done.stderr
    # a network failure is one line per source, said once, with the local index named as the fallback
    text = subprocess.run([*CLI, "literature", "search", "grokking", "--local", str(bib)], capture_output=True,
                          text=True, timeout=60, env=env)
    said = [line for line in (text.stdout + text.stderr).splitlines() if "unreachable" in line or "failed" in line]
    assert said == ["arXiv unreachable: connection refused; using the local index",
                    "OpenAlex unreachable: connection refused; using the local index"], said


def test_literature_search_local_index(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{k1, title={Grokking modular arithmetic}, author={Power, A}, year={2022}}\n")
    done = scientist("literature", "search", "grokking", "--source", "local", "--local", str(bib), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["papers"][0]["title"] == "Grokking modular arithmetic"


def test_version():
    done = scientist("--version")
    assert done.returncode == 0 and done.stdout.startswith("scientist ")


@pytest.mark.parametrize("option", [("--timeout", "0"), ("--memory", "-5")])
def test_bad_sandbox_limits_are_usage_errors_naming_the_option(option):
    done = scientist("sandbox", "run", *option, "--", "true")
    assert done.returncode == 2 and option[0] in done.stderr
    assert "ValidationError" not in done.stderr and "internal error" not in done.stderr


def test_sandbox_run_returns_the_command_s_own_exit_code():
    done = scientist("sandbox", "run", "--", "python", "-c", "import sys; sys.exit(7)")
    assert done.returncode == 7 and "exit 7" in done.stderr


def test_failures_on_a_missing_directory_is_an_error(tmp_path):
    done = scientist("failures", "--runs-dir", str(tmp_path / "nope"))
    assert done.returncode == 2 and done.stderr.strip() == f"error: --runs-dir {tmp_path / 'nope'} is not a directory"


def test_empty_checkpoints_are_refused_before_anything_runs(tmp_path):
    env = {**os.environ, "SCIENTIST_RUNS_DIR": str(tmp_path / "runs"), "SCIENTIST_OFFLINE": "1"}
    done = subprocess.run([*CLI, "run", "templates/digits_mlp", "--checkpoints", ""], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 2 and "--checkpoints is empty" in done.stderr and "--auto" in done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_running_run_whose_process_is_gone_is_interrupted_and_ids_never_wrap(tmp_path):
    from scientist.runstore import RunStatus, RunStore

    folder = RunStore(tmp_path).create("/somewhere/templates/digits_mlp", "an idea", {"ideation": "local"}, {})
    manifest = folder.read_manifest()
    manifest.status = RunStatus.RUNNING
    folder.write_manifest(manifest)
    env = {**os.environ, "COLUMNS": "80", "SCIENTIST_OFFLINE": "1"}
    runs = subprocess.run([*CLI, "runs", "--runs-dir", str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=60)
    assert runs.returncode == 0 and folder.run_id in runs.stdout and "interrupted" in runs.stdout
    status = subprocess.run([*CLI, "status", folder.run_id, "--runs-dir", str(tmp_path)], capture_output=True,
                            text=True, env=env, timeout=60)
    assert "status: interrupted" in status.stdout and f"scientist resume {folder.run_id}" in status.stdout


@pytest.mark.parametrize(("model", "says"), [("openai/gpt-4o", "needs OPENAI_API_KEY in the environment"),
                                             ("nonsense-xyz", "unknown model or provider 'nonsense-xyz'")])
def test_a_model_that_cannot_work_is_refused_before_any_work(tmp_path, model, says):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "SCIENTIST_API_BASE")}
    env.update(SCIENTIST_OFFLINE="1", SCIENTIST_RUNS_DIR=str(tmp_path / "runs"))
    started = time.perf_counter()
    done = subprocess.run([*CLI, "run", "templates/digits_mlp", "--model", model], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 2 and says in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists(), "no run folder, so no model call and no ledger line"
    assert time.perf_counter() - started < 60, "no retries"


@pytest.mark.parametrize(("model", "says"), [("openai/gpt-4o", "OPENAI_API_KEY"), ("nonsense-xyz", "unknown model")])
def test_doctor_never_reports_an_unusable_remote_model_ok(model, says):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "SCIENTIST_API_BASE")}
    done = subprocess.run([*CLI, "doctor", "--json", "--model", model], capture_output=True, text=True, timeout=120,
                          env={**env, "SCIENTIST_OFFLINE": "1"})
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["model"]["ok"] is False and says in report["model"]["detail"]


def test_doctor_verifies_a_remote_model_with_one_tiny_request():
    from scientist.llm.scripted.server import FakeOpenAI, Step

    with FakeOpenAI(repeat_last=True).push(Step("ok")) as fake:
        done = subprocess.run([*CLI, "doctor", "--json", "--model", "openai/some-model"], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "SCIENTIST_OFFLINE": "1",
                                                           "SCIENTIST_API_BASE": fake.api_base})
    report = json.loads(done.stdout)
    assert report["model"]["ok"] and report["model"]["detail"] == "answered a 1-token request"
    assert [r["max_tokens"] for r in fake.requests] == [1]


def test_a_config_error_names_the_file_the_key_and_the_closest_key_and_doctor_still_runs(tmp_path):
    (tmp_path / "scientist.toml").write_text('[models]\ncodng = "local"\n')
    done = subprocess.run([*CLI, "runs"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {tmp_path / 'scientist.toml'}: unknown configuration key 'models.codng' "
                                   "(did you mean 'models.coding'?)")
    doctor = subprocess.run([*CLI, "doctor", "--json"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                            env={**os.environ, "SCIENTIST_OFFLINE": "1"})
    report = json.loads(doctor.stdout)
    assert doctor.returncode == 1 and "models.codng" in report["config_error"] and report["latex"]


def test_resume_with_a_new_model_is_checked_and_recorded(tmp_path):
    from scientist.runstore import RunStatus, RunStore

    folder = RunStore(tmp_path).create("/somewhere/digits_mlp", "an idea", {"ideation": "local"}, {"model": "local"})
    manifest = folder.read_manifest()
    manifest.status = RunStatus.FAILED
    folder.write_manifest(manifest)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "SCIENTIST_API_BASE")}
    bad = subprocess.run([*CLI, "resume", folder.run_id, "--runs-dir", str(tmp_path), "--model", "openai/gpt-4o"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "OPENAI_API_KEY" in bad.stderr
    assert folder.read_manifest().models == {"ideation": "local"}, "nothing changed on a refused model"
    role = subprocess.run([*CLI, "resume", folder.run_id, "--runs-dir", str(tmp_path), "--role-model", "judge=x"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert role.returncode == 2 and "--role-model takes ROLE=MODEL" in role.stderr
