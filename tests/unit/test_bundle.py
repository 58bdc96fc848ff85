"""The Databricks bundle: generated from the run plan and params, committed fresh, valid without a workspace
(databricks-bundles types, notebooks, parameters, variables), and `hm deploy` wrapping the Databricks CLI."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from hm_utils import bundle, plan
from hm_utils import config as config_module
from hm_utils.errors import ConfigError, HealthMonitorError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)


def _committed() -> dict[str, dict]:
    paths = [ROOT / "databricks.yml", *sorted((ROOT / "resources").glob("*.yml"))]
    return {str(path.relative_to(ROOT)): yaml.safe_load(path.read_text()) for path in paths}


def _project(tmp_path: Path, plan_text: str | None = None) -> Path:
    """A copy of the project's params (notebooks linked), with another run plan when given."""
    shutil.copytree(ROOT / "params", tmp_path / "params")
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")
    if plan_text is not None:
        (tmp_path / "params" / "run_plan.yml").write_text(plan_text)
    return tmp_path


def test_committed_bundle_is_what_the_run_plan_and_params_generate():
    stale = bundle.generate(ROOT).stale(ROOT)
    assert not stale, f"{stale} differ from the run plan and params: run `hm deploy --generate` and commit"


def test_committed_bundle_validates():
    assert bundle.validate(ROOT, _committed()) == []


def test_bundle_jobs_and_the_run_plan_agree_on_every_target():
    """Read from the committed files and the run plan, not from the generator."""
    documents = _committed()
    jobs = {
        key: job for doc in documents.values() for key, job in ((doc.get("resources") or {}).get("jobs") or {}).items()
    }
    for env in documents["databricks.yml"]["targets"]:
        config = config_module.load(env)
        for job in plan.load_jobs(config).values():
            graph = job.dependencies(config)
            if not graph:
                assert f"hm_{job.name}" not in jobs
                continue
            tasks = {task["task_key"]: task for task in jobs[f"hm_{job.name}"]["tasks"]}
            assert {k: tuple(d["task_key"] for d in t.get("depends_on", [])) for k, t in tasks.items()} == graph
            for step in job.steps:
                if step.name in tasks:
                    task = tasks[step.name]
                    if step.databricks_run_job:
                        runs = jobs[f"hm_{step.databricks_run_job}"]["tasks"]
                        assert task["run_job_task"] == {
                            "job_id": f"${{resources.jobs.hm_{step.databricks_run_job}.id}}"
                        }
                        assert f"../{step.notebook}" in [t["notebook_task"]["notebook_path"] for t in runs]
                    else:
                        assert task["notebook_task"]["notebook_path"] == f"../{step.notebook}"
                    assert task["max_retries"] == step.retries
                    assert task.get("timeout_seconds", 0) == step.timeout_minutes * 60


def test_the_main_job_is_daily_serverless_and_passes_what_papermill_passes():
    job = _committed()["resources/hm_pipeline.job.yml"]["resources"]["jobs"]["hm_pipeline"]
    assert job["schedule"]["quartz_cron_expression"] == "0 0 6 * * ?"
    assert job["max_concurrent_runs"] == 1
    assert not any("job_cluster_key" in task or "existing_cluster_id" in task for task in job["tasks"])
    assert [p["name"] for p in job["parameters"]] == ["env", "overrides", "run_id"]  # hm run's notebook parameters
    assert {task["task_key"] for task in job["tasks"]} == {
        "bronze",
        "silver",
        "gold",
        "semantic",
        "monitoring",
        "ml_train",
        "ml_score",
        "alerts",
        "report",
    }


def test_models_retrain_weekly_and_the_daily_run_trains_only_models_without_a_champion():
    documents = _committed()
    training = documents["resources/hm_training.job.yml"]["resources"]["jobs"]["hm_training"]
    assert training["schedule"]["quartz_cron_expression"] == "0 5 4 ? * SUN"
    (task,) = training["tasks"]
    assert task["notebook_task"] == {
        "notebook_path": "../notebooks/06_ml_train.ipynb",
        "base_parameters": {"models": "all"},
    }
    pipeline = documents["resources/hm_pipeline.job.yml"]["resources"]["jobs"]["hm_pipeline"]
    daily = next(t for t in pipeline["tasks"] if t["task_key"] == "ml_train")
    assert daily["notebook_task"]["base_parameters"] == {"models": "missing"}


def test_overrides_parameter_sets_the_config_from_the_variables():
    text = bundle.overrides_parameter().replace("${var.catalog}", "main").replace("${var.warehouse_id}", "0123")
    for layer in bundle.LAYERS:
        text = text.replace(f"${{var.schema_{layer}}}", f"x_{layer}")
    parsed = config_module.parse_overrides(text)
    assert parsed["catalog"] == "main" and parsed["schemas.gold"] == "x_gold"
    assert parsed["semantic.genie.warehouse_id"] == "0123"  # stays text, leading zero kept


def test_targets_carry_their_environments_catalog_and_run_as():
    main = _committed()["databricks.yml"]
    assert set(main["targets"]) == {"dev", "prod"}
    assert main["targets"]["prod"]["variables"]["catalog"] == config_module.load("prod").catalog
    assert main["targets"]["dev"]["variables"]["catalog"] == config_module.load("dev").catalog
    assert "default" not in main["variables"]["catalog"]  # every target names its own catalog
    assert main["targets"]["prod"]["mode"] == "production" and main["targets"]["dev"]["mode"] == "development"
    assert main["targets"]["prod"]["run_as"] == {
        "service_principal_name": config_module.load("prod").get("access.service_principal")
    }


def test_a_job_added_to_the_run_plan_appears_in_the_bundle(tmp_path):
    text = (
        (ROOT / "params" / "run_plan.yml")
        .read_text()
        .replace(
            "steps:\n",
            "  checks:\n    description: frequent checks\n    schedule: '*/15 * * * *'\n"
            "    task_defaults: {retries: 2, timeout_minutes: 10}\nsteps:\n",
        )
    )
    text += "  - {name: checks, notebook: notebooks/04_semantic_deploy.ipynb, job: checks}\n"
    root = _project(tmp_path, text)
    generated = bundle.generate(root)
    job = generated.documents()["resources/hm_checks.job.yml"]["resources"]["jobs"]["hm_checks"]
    assert job["schedule"]["quartz_cron_expression"] == "0 */15 * * * ?"
    assert job["tasks"][0]["max_retries"] == 2 and job["tasks"][0]["timeout_seconds"] == 600
    assert bundle.validate(root, generated.documents()) == []
    assert generated.stale(root)  # not written yet
    generated.write(root)
    assert bundle.generate(root).stale(root) == []


def test_job_cluster_compute_is_a_target_override(tmp_path):
    root = _project(tmp_path)
    (root / "params" / "prod.yml").write_text(
        (root / "params" / "prod.yml")
        .read_text()
        .replace("deploy:\n", "deploy:\n  compute: job_cluster\n  job_cluster: {node_type_id: i3.xlarge}\n")
    )
    documents = bundle.generate(root).documents()
    prod = documents["databricks.yml"]["targets"]["prod"]["resources"]["jobs"]["hm_pipeline"]
    assert prod["job_clusters"][0]["new_cluster"]["node_type_id"] == "i3.xlarge"
    assert all(
        task["job_cluster_key"] == "hm" and task["libraries"] == [{"whl": "../dist/*.whl"}] for task in prod["tasks"]
    )
    assert "alerts" not in {task["task_key"] for task in prod["tasks"]}  # it runs the alerts job, on that job's cluster
    assert "alert_check" in {
        t["task_key"] for t in documents["databricks.yml"]["targets"]["prod"]["resources"]["jobs"]["hm_alerts"]["tasks"]
    }
    assert "hm_utils" in documents["databricks.yml"]["artifacts"]
    assert "resources" not in documents["databricks.yml"]["targets"]["dev"]  # dev stays serverless
    assert bundle.validate(root, documents) == []
    assert "compute: job cluster" in "\n".join(bundle.describe(documents, "prod"))


def test_job_cluster_without_a_node_type_says_what_to_set(tmp_path):
    root = _project(tmp_path)
    prod = root / "params" / "prod.yml"
    prod.write_text(prod.read_text().replace("deploy:\n", "deploy:\n  compute: job_cluster\n"))
    with pytest.raises(ConfigError, match="node_type_id"):
        bundle.generate(root)


def _break(documents: dict[str, dict], change) -> list[str]:
    broken = yaml.safe_load(yaml.safe_dump(documents))
    change(broken)
    return bundle.validate(ROOT, broken)


def _first_task(documents):
    return documents["resources/hm_pipeline.job.yml"]["resources"]["jobs"]["hm_pipeline"]["tasks"][0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _first_task(d).update(max_retrys=2), "Unexpected field 'max_retrys'"),
        (lambda d: _first_task(d).update(max_retries="often"), "often"),
        (
            lambda d: _first_task(d)["notebook_task"].update(notebook_path="../notebooks/99_none.ipynb"),
            "does not exist",
        ),
        (lambda d: _first_task(d)["notebook_task"].update(base_parameters={"days": "7"}), "does not declare"),
        (
            lambda d: _first_task(d).update(timeout_seconds="${var.task_timeout}"),
            "${var.task_timeout} is used but not declared",
        ),
        (
            lambda d: d["databricks.yml"]["variables"]["schema_gold"].pop("default"),
            "schema_gold has no value on target dev",
        ),
        (lambda d: d["databricks.yml"]["targets"]["prod"].update(moed="production"), "unknown key 'moed'"),
    ],
)
def test_validation_finds_what_a_deploy_would_reject(change, message):
    problems = _break(_committed(), change)
    assert any(message in problem for problem in problems), problems


def test_a_parameter_the_notebook_cannot_read_is_found(tmp_path):
    text = (
        (ROOT / "params" / "run_plan.yml")
        .read_text()
        .replace(
            "    notebook: notebooks/09_report_publish.ipynb\n",
            "    notebook: notebooks/09_report_publish.ipynb\n    parameters: {workspaces: not-a-list}\n",
        )
    )
    root = _project(tmp_path, text)
    problems = bundle.validate(root, bundle.generate(root).documents())
    assert any("workspaces" in p and "is not a list" in p for p in problems), problems


def test_a_notebook_without_the_serverless_environment_is_found(tmp_path):
    import nbformat

    root = _project(tmp_path)
    (root / "notebooks").unlink()
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    notebook = nbformat.read(root / "notebooks" / "03_gold_build.ipynb", as_version=4)
    del notebook.metadata[bundle.NOTEBOOK_METADATA]
    nbformat.write(notebook, root / "notebooks" / "03_gold_build.ipynb")
    problems = bundle.validate(root, bundle.generate(root).documents())
    assert any("03_gold_build.ipynb does not install the package" in p for p in problems), problems


def test_dry_run_lists_jobs_tasks_and_schedules():
    text = "\n".join(bundle.describe(_committed(), "prod"))
    assert "job hm_pipeline" in text and "schedule: 0 0 6 * * ? UTC" in text
    assert "task silver     after bronze" in text


def test_deploy_without_the_cli_explains_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(HealthMonitorError, match="Databricks CLI is not installed") as raised:
        bundle.deploy(ROOT, "dev", progress=lambda _: None)
    assert "brew install databricks" in raised.value.fix


def _fake_cli(folder: Path, exit_on: str = "") -> Path:
    calls = folder / "calls.txt"
    script = folder / "databricks"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$2" = "{exit_on}" ] && exit 3\nexit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return calls


def test_deploy_validates_then_deploys_the_target(tmp_path, monkeypatch):
    calls = _fake_cli(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    bundle.deploy(ROOT, "prod", progress=lambda _: None)
    assert calls.read_text().splitlines() == ["bundle validate --target prod", "bundle deploy --target prod"]


def test_a_failing_validate_stops_before_deploy(tmp_path, monkeypatch):
    calls = _fake_cli(tmp_path, exit_on="validate")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with pytest.raises(HealthMonitorError, match="`databricks bundle validate` failed"):
        bundle.deploy(ROOT, "dev", progress=lambda _: None)
    assert calls.read_text().splitlines() == ["bundle validate --target dev"]


def _substituted(spec: dict, values: dict[str, str]) -> dict:
    """A bundle resource with `${var.name}` references replaced as the Databricks CLI does at deploy time."""
    text = json.dumps(spec)
    for name, value in values.items():
        text = text.replace(f"${{var.{name}}}", value)
    return json.loads(text)


def test_every_yaml_alert_is_a_bundle_alert_equal_to_what_hm_alerts_deploy_sends():
    from databricks.bundles.alerts import Alert

    from hm_utils.alerts import deploy as alerts_deploy
    from hm_utils.alerts.definitions import load_definitions

    committed = _committed()
    alerts = {
        key: spec
        for document in committed.values()
        for key, spec in (document.get("resources") or {}).get("alerts", {}).items()
    }
    definitions = load_definitions()
    assert sorted(alerts) == sorted(f"hm_alert_{d.id}" for d in definitions)
    prod = config_module.load("prod")
    sent = alerts_deploy.alert_payloads(prod, warehouse_id="wh-42")
    values = {"catalog": prod.catalog, "schema_semantic": prod.get("schemas.semantic"), "alerts_warehouse_id": "wh-42"}
    for definition in definitions:
        spec = alerts[f"hm_alert_{definition.id}"]
        Alert.from_dict(spec)  # the bundle's own type accepts it
        deployed = _substituted(spec, values)
        assert deployed == sent[definition.id], definition.id
        alerts_deploy.sdk_alert(deployed)  # and so does the SDK's AlertV2
        assert f"{prod.catalog}.{prod.get('schemas.semantic')}." in deployed["query_text"]


def test_the_frequent_alert_job_runs_the_alerts_notebook_every_15_minutes():
    job = _committed()["resources/hm_alerts.job.yml"]["resources"]["jobs"]["hm_alerts"]
    assert job["schedule"]["quartz_cron_expression"] == "0 */15 * * * ?"
    assert [task["notebook_task"]["notebook_path"] for task in job["tasks"]] == [
        "../notebooks/08_alerts_evaluate.ipynb"
    ]
    assert job["timeout_seconds"] < 15 * 60  # a cycle never overlaps the next
    pipeline = _committed()["resources/hm_pipeline.job.yml"]["resources"]["jobs"]["hm_pipeline"]
    after = {task["task_key"]: [d["task_key"] for d in task.get("depends_on", [])] for task in pipeline["tasks"]}
    assert after["monitoring"] == ["semantic"] and after["report"] == ["alerts"]
    assert {"monitoring", "ml_score", "ml_train"} <= _upstream(after, "alerts"), (
        "alerts read the monitoring results and the models' predictions"
    )


def test_on_databricks_every_alert_evaluation_is_a_queued_run_of_the_alerts_job():
    """The pipeline's alerts step triggers the alerts job instead of evaluating beside it: that job's runs queue
    one at a time, so a daily evaluation never reads the alert state a frequent one is changing."""
    documents = _committed()
    pipeline = documents["resources/hm_pipeline.job.yml"]["resources"]["jobs"]["hm_pipeline"]
    alerts = documents["resources/hm_alerts.job.yml"]["resources"]["jobs"]["hm_alerts"]
    evaluating = [
        (key, task)
        for document in documents.values()
        for key, job in ((document.get("resources") or {}).get("jobs") or {}).items()
        for task in job["tasks"]
        if (task.get("notebook_task") or {}).get("notebook_path") == "../notebooks/08_alerts_evaluate.ipynb"
    ]
    assert [key for key, _ in evaluating] == ["hm_alerts"]
    assert alerts["max_concurrent_runs"] == 1 and alerts["queue"] == {"enabled": True}
    step = next(t for t in pipeline["tasks"] if t["task_key"] == "alerts")
    assert step["run_job_task"] == {"job_id": "${resources.jobs.hm_alerts.id}"}
    assert step["depends_on"] == [{"task_key": "ml_score"}]
    assert "runs job ${resources.jobs.hm_alerts.id} and waits for it" in "\n".join(bundle.describe(documents, "prod"))


def test_a_task_running_a_job_the_bundle_does_not_declare_is_found():
    documents = _committed()
    step = next(
        t
        for t in documents["resources/hm_pipeline.job.yml"]["resources"]["jobs"]["hm_pipeline"]["tasks"]
        if "run_job_task" in t
    )
    step["run_job_task"]["job_id"] = "${resources.jobs.hm_alert.id}"
    problems = bundle.validate(ROOT, documents)
    assert problems == ["hm_pipeline.alerts: runs job ${resources.jobs.hm_alert.id}, which the bundle does not declare"]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("databricks_run_job: nightly", "triggers job 'nightly', which is not another declared job"),
        ("databricks_run_job: pipeline", "triggers job 'pipeline', which is not another declared job"),
        ("databricks_run_job: training", "job 'training' has no step running it"),
    ],
)
def test_a_step_triggering_a_job_that_does_not_run_its_notebook_is_refused(tmp_path, step, message):
    text = (ROOT / "params" / "run_plan.yml").read_text()
    assert "    databricks_run_job: alerts\n" in text
    root = _project(tmp_path, text.replace("    databricks_run_job: alerts\n", f"    {step}\n"))
    with pytest.raises(ConfigError, match=message) as raised:
        plan.load_jobs(config_module.load("prod", root=root))
    assert raised.value.where.endswith("steps.alerts.databricks_run_job")


def _upstream(after: dict[str, list[str]], task: str) -> set[str]:
    """Every task `task` waits for, directly or through others."""
    seen: set[str] = set()
    todo = list(after[task])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += after[name]
    return seen


def test_deploying_alerts_needs_the_targets_warehouse():
    documents = _committed()
    with pytest.raises(ConfigError, match="SQL alerts need a warehouse on target prod") as raised:
        bundle.check_deployable(documents, "prod")
    assert "alerts.databricks.warehouse_id" in raised.value.where
    documents["databricks.yml"]["targets"]["prod"].setdefault("variables", {})["alerts_warehouse_id"] = "wh-1"
    bundle.check_deployable(documents, "prod")
    assert "alerts: 56 SQL alerts (v2) on warehouse wh-1" in "\n".join(bundle.describe(documents, "prod"))
