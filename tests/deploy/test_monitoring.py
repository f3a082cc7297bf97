"""The monitoring files in ``deploy/``: Prometheus config and alert rules, Grafana provisioning
and the dashboard.

* ``promtool`` (the real one) accepts the config and the rules, rejects a broken rules file,
  and ``promtool test rules`` shows each alert fires when it should and not before;
* every metric name the dashboard and the alerts query exists: in what the daemon really
  exports (``live_daemon.metrics.Metrics().render()``), in what the reconciliation really
  pushes (``pipelines/defs/live/metrics_push.py`` against a recording HTTP server), or is
  Prometheus's own ``up``; a made-up name is caught;
* the Grafana files fit together: the dashboard's datasource uid is the provisioned one,
  the provider reads the folder the compose file mounts, panels are well formed.

promtool comes from Debian's ``prometheus`` package (``make test`` installs it).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from live_daemon.metrics import Metrics
from pipelines.defs.live.metrics_push import push_reconciliation_breaks
from tests.pipelines.live.test_metrics_push import RecordingGateway

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
ALERTS = ROOT / "deploy/prometheus/alerts.yml"
DATASOURCE = ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml"
PROVIDER = ROOT / "deploy/grafana/provisioning/dashboards/execution-services.yml"
DASHBOARD = ROOT / "deploy/grafana/dashboards/execution-services.json"

# Series Prometheus makes itself, not exported by anything of ours.
BUILTIN_METRICS = {"up"}


# --- promtool --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool not found on PATH: install Debian's `prometheus` package "
            "(`apt-get install prometheus`; `make test` does it)"
        )
    return found


def run_promtool(promtool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_accepts_the_prometheus_config(promtool: str) -> None:
    # also loads rule_files (alerts.yml) relative to the config, as in the container
    result = run_promtool(promtool, "check", "config", PROMETHEUS_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_alert_rules(promtool: str) -> None:
    result = run_promtool(promtool, "check", "rules", ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rules_file(promtool: str, tmp_path: Path) -> None:
    rules = yaml.safe_load(ALERTS.read_text())
    rules["groups"][0]["rules"][0]["expr"] = "sum(rate(exec_fills_total[5m]) by"  # unbalanced
    broken = tmp_path / "alerts.yml"
    broken.write_text(yaml.safe_dump(rules))

    result = run_promtool(promtool, "check", "rules", broken)

    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def test_the_config_scrapes_the_daemon_the_pushgateway_and_itself() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    assert config["rule_files"] == ["alerts.yml"]  # mounted beside it in /etc/prometheus/
    assert jobs["exec-daemon"]["static_configs"][0]["targets"] == ["live-daemon:8001"]
    assert jobs["exec-daemon"]["metrics_path"] == "/metrics"
    assert jobs["pushgateway"]["static_configs"][0]["targets"] == ["pushgateway:9091"]
    assert jobs["pushgateway"]["honor_labels"] is True  # keeps job="exec_reconciliation"
    assert jobs["prometheus"]["static_configs"][0]["targets"] == ["localhost:9090"]


# --- the alerts bite: promtool test rules ------------------------------------------------------


def alert_rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def rendered_annotations(alert: str, labels: dict[str, str], value: str) -> dict[str, str]:
    """The rule's annotations as Prometheus renders them for ``labels`` and ``value`` (the
    few template forms alerts.yml uses; anything else fails here, not silently)."""
    rendered = {}
    for key, text in alert_rules()[alert]["annotations"].items():
        text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)
        text = re.sub(r"\{\{ \$value(?: \| humanizePercentage)? \}\}", value, text)
        assert "{{" not in text, f"{alert}.{key}: template form the test cannot render"
        rendered[key] = text
    return rendered


def expected(alert: str, labels: dict[str, str], value: str) -> dict[str, Any]:
    severity = alert_rules()[alert]["labels"]["severity"]
    return {
        "exp_labels": {**labels, "severity": severity},
        "exp_annotations": rendered_annotations(alert, labels, value),
    }


DAEMON = {"job": "exec-daemon", "instance": "live-daemon:8001"}
PUSHED = {"job": "exec_reconciliation"}


def rule_tests() -> list[dict[str, Any]]:
    okx = {**DAEMON, "venue": "OKX"}
    fills = {**PUSHED, "table": "fills"}
    return [
        {  # a venue down for 3 minutes fires; one down for 1 minute, or up, does not
            "interval": "1m",
            "input_series": [
                {
                    "series": 'exec_venue_up{job="exec-daemon",instance="live-daemon:8001",'
                    'venue="OKX"}',
                    "values": "1 0 0 0 0",
                },
                {
                    "series": 'exec_venue_up{job="exec-daemon",instance="live-daemon:8001",'
                    'venue="BYBIT"}',
                    "values": "1 1 1 1 1",
                },
            ],
            "alert_rule_test": [
                {"eval_time": "2m", "alertname": "VenueDown", "exp_alerts": []},
                {
                    "eval_time": "4m",
                    "alertname": "VenueDown",
                    "exp_alerts": [expected("VenueDown", okx, "0")],
                },
            ],
        },
        {  # a break fires at once; a clean table does not, and a cleared one stops
            "interval": "1m",
            "input_series": [
                {
                    "series": 'exec_reconciliation_breaks{job="exec_reconciliation",table="fills"}',
                    "values": "0 2 2 0",
                },
                {
                    "series": 'exec_reconciliation_breaks{job="exec_reconciliation",'
                    'table="orders"}',
                    "values": "0 0 0 0",
                },
            ],
            "alert_rule_test": [
                {"eval_time": "0m", "alertname": "ReconciliationBreaks", "exp_alerts": []},
                {
                    "eval_time": "1m",
                    "alertname": "ReconciliationBreaks",
                    "exp_alerts": [expected("ReconciliationBreaks", fills, "2")],
                },
                {"eval_time": "3m", "alertname": "ReconciliationBreaks", "exp_alerts": []},
            ],
        },
        {  # scrape failing: up == 0 for a minute fires
            "interval": "1m",
            "input_series": [
                {
                    "series": 'up{job="exec-daemon",instance="live-daemon:8001"}',
                    "values": "1 0 0 0",
                },
                {
                    "series": 'exec_daemon_heartbeat_timestamp_seconds{job="exec-daemon",'
                    'instance="live-daemon:8001"}',
                    "values": "0+60x3",
                },  # beating: age 0
            ],
            "alert_rule_test": [
                {"eval_time": "1m", "alertname": "DaemonDown", "exp_alerts": []},
                {
                    "eval_time": "2m",
                    "alertname": "DaemonDown",
                    "exp_alerts": [expected("DaemonDown", DAEMON, "0")],
                },
            ],
        },
        {  # scraped fine but the heartbeat stopped at 60 s: age > 60 from 3m, fires at 4m
            "interval": "1m",
            "input_series": [
                {
                    "series": 'up{job="exec-daemon",instance="live-daemon:8001"}',
                    "values": "1 1 1 1 1 1",
                },
                {
                    "series": 'exec_daemon_heartbeat_timestamp_seconds{job="exec-daemon",'
                    'instance="live-daemon:8001"}',
                    "values": "0 60 60 60 60 60",
                },
            ],
            "alert_rule_test": [
                {"eval_time": "3m", "alertname": "DaemonDown", "exp_alerts": []},
                {
                    "eval_time": "4m",
                    "alertname": "DaemonDown",
                    "exp_alerts": [expected("DaemonDown", DAEMON, "180")],
                },
            ],
        },
        {  # half of 10 orders a minute rejected fires; 100 % of 1 a minute is too few orders
            "interval": "1m",
            "input_series": [
                {
                    "series": 'exec_orders_submitted_total{job="exec-daemon",strategy="busy"}',
                    "values": "0+10x20",
                },
                {
                    "series": 'exec_orders_rejected_total{job="exec-daemon",reason="ORDER_SIZE"}',
                    "values": "0+5x20",
                },
            ],
            "alert_rule_test": [
                {
                    "eval_time": "15m",
                    "alertname": "HighRejectionRate",
                    "exp_alerts": [expected("HighRejectionRate", {}, "50%")],
                },
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                {
                    "series": 'exec_orders_submitted_total{job="exec-daemon",strategy="quiet"}',
                    "values": "0+1x20",
                },
                {
                    "series": 'exec_orders_rejected_total{job="exec-daemon",reason="NO_VENUE"}',
                    "values": "0+1x20",
                },
            ],
            "alert_rule_test": [
                {"eval_time": "15m", "alertname": "HighRejectionRate", "exp_alerts": []},
            ],
        },
        {  # the last run at 60 s, none since: over an hour old from 62m, fires 5m later
            "interval": "1m",
            "input_series": [
                {
                    "series": "exec_reconciliation_last_run_timestamp_seconds{"
                    'job="exec_reconciliation"}',
                    "values": "60x90",
                },
            ],
            "alert_rule_test": [
                {"eval_time": "30m", "alertname": "ReconciliationStale", "exp_alerts": []},
                {"eval_time": "64m", "alertname": "ReconciliationStale", "exp_alerts": []},
                {
                    "eval_time": "70m",
                    "alertname": "ReconciliationStale",
                    "exp_alerts": [expected("ReconciliationStale", PUSHED, "")],
                },
            ],
        },
    ]


def test_the_alerts_fire_when_they_should_and_not_before(promtool: str, tmp_path: Path) -> None:
    tests_file = tmp_path / "alerts_test.yml"
    tests_file.write_text(
        yaml.safe_dump(
            {"rule_files": [str(ALERTS)], "evaluation_interval": "1m", "tests": rule_tests()}
        )
    )

    result = run_promtool(promtool, "test", "rules", tests_file)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_test_rules_catches_an_alert_that_does_not_fire(
    promtool: str, tmp_path: Path
) -> None:
    """The harness itself bites: expecting VenueDown while the venue is up fails."""
    okx = {**DAEMON, "venue": "OKX"}
    case = {
        "interval": "1m",
        "input_series": [
            {
                "series": 'exec_venue_up{job="exec-daemon",instance="live-daemon:8001",'
                'venue="OKX"}',
                "values": "1 1 1 1 1",
            },
        ],
        "alert_rule_test": [
            {
                "eval_time": "4m",
                "alertname": "VenueDown",
                "exp_alerts": [expected("VenueDown", okx, "0")],
            },
        ],
    }
    tests_file = tmp_path / "alerts_test.yml"
    tests_file.write_text(yaml.safe_dump({"rule_files": [str(ALERTS)], "tests": [case]}))

    assert run_promtool(promtool, "test", "rules", tests_file).returncode != 0


def test_each_alert_has_a_severity_and_says_what_to_do() -> None:
    rules = alert_rules()

    assert {"DaemonDown", "VenueDown", "ReconciliationBreaks", "HighRejectionRate"} <= set(rules)
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["annotations"]["summary"], name
        assert len(rule["annotations"]["description"]) > 80, name  # more than a restatement
    assert "{{ $labels.venue }}" in rules["VenueDown"]["annotations"]["summary"]


# --- metric names: the dashboard and the alerts query only what exists --------------------------

# Words in PromQL that are not metric names: functions, aggregations, operators, modifiers.
_PROMQL_WORDS_TEXT = """
    abs absent absent_over_time and atan2 avg avg_over_time bool bottomk by ceil changes
    clamp clamp_max clamp_min count count_over_time count_values day_of_month day_of_week
    day_of_year days_in_month delta deriv end exp floor group group_left group_right
    histogram_avg histogram_count histogram_fraction histogram_quantile histogram_sum
    holt_winters hour idelta ignoring increase inf irate label_join label_replace
    last_over_time ln log10 log2 max max_over_time min min_over_time minute month nan
    offset on or predict_linear present_over_time quantile quantile_over_time rate resets
    round scalar sgn sort sort_desc sqrt start stddev stddev_over_time stdvar
    stdvar_over_time sum sum_over_time time timestamp topk unless vector without year
"""
PROMQL_WORDS = set(_PROMQL_WORDS_TEXT.split())
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'|`[^`]*`")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# An identifier not inside a word, a number (1e-9) or a Grafana variable ($__interval),
# followed by `{`, `[`, `)`, whitespace or the end: a selector, not a call.
_NAME = re.compile(r"(?<![\w.:$])([A-Za-z_:][A-Za-z0-9_:]*)(?=[{\[)\s]|$)")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", "{}", text)  # label matchers: their names are labels
    text = re.sub(r"\[[^\]]*\]", "[]", text)  # ranges, subqueries, $__rate_interval
    text = _LABEL_LIST.sub(" ", text)  # by (le), on (instance): label names
    return {name for name in _NAME.findall(text) if name.lower() not in PROMQL_WORDS}


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (reason) (rate(exec_orders_rejected_total{reason=~"NO_VENUE|VENUE"}[5m]))',
            {"exec_orders_rejected_total"},
        ),
        (
            'up{job="exec-daemon"} == 0 or (time() - exec_daemon_heartbeat_timestamp_seconds > 60)',
            {"up", "exec_daemon_heartbeat_timestamp_seconds"},
        ),
        (
            "histogram_quantile(0.99, sum(rate(exec_submit_ack_latency_seconds_bucket"
            "[$__rate_interval])) by (le))",
            {"exec_submit_ack_latency_seconds_bucket"},
        ),
        ("a / clamp_min(sum (b), 1e-9) > 0.2 and on (job) c offset 5m >= bool 20", {"a", "b", "c"}),
        ("exec_venue_up", {"exec_venue_up"}),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def daemon_exported_names() -> set[str]:
    """Every sample name the daemon's registry renders once each kind of event happened."""
    metrics = Metrics()
    metrics.order_submitted("strat")
    metrics.order_accepted("OKX")
    metrics.order_rejected("ORDER_SIZE")
    metrics.fill("OKX")
    metrics.venue_chosen("OKX")
    metrics.observe_ack(0.002)
    metrics.set_exposure("OKX:PERPETUAL:BTC-USDT@LIN", 1000.0)
    metrics.error("venue_event")
    metrics.http_request("POST", "/api/orders", 201)
    metrics.watch_heartbeat(lambda: dt.datetime.now(dt.UTC))
    metrics.watch_venues(lambda: {"OKX": True, "BYBIT": False})
    return sample_names(metrics.render().decode())


def sample_names(text: str) -> set[str]:
    # sample names, so a histogram counts as _bucket, _sum and _count
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


@pytest.fixture(scope="module")
def known_names() -> Iterator[set[str]]:
    gateway = RecordingGateway()
    try:
        assert push_reconciliation_breaks(
            {"orders": 1, "fills": 0, "positions": 0}, url=gateway.url
        )
        pushed = sample_names(gateway.requests[-1].body)
    finally:
        gateway.close()
    yield daemon_exported_names() | pushed | BUILTIN_METRICS


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_exprs(rules: Iterable[dict[str, Any]]) -> list[str]:
    return [rule["expr"] for rule in rules]


def unknown_names(exprs: Iterable[str], known: set[str]) -> set[str]:
    return {name for expr in exprs for name in metric_names(expr)} - known


def test_the_daemon_and_the_push_export_what_the_brief_names(known_names: set[str]) -> None:
    for name in [
        "exec_orders_submitted_total",
        "exec_orders_accepted_total",
        "exec_orders_rejected_total",
        "exec_fills_total",
        "exec_submit_ack_latency_seconds_bucket",
        "exec_venue_chosen_total",
        "exec_exposure",
        "exec_errors_total",
        "exec_http_requests_total",
        "exec_venue_up",
        "exec_daemon_heartbeat_timestamp_seconds",
        "exec_reconciliation_breaks",
        "exec_reconciliation_last_run_timestamp_seconds",
    ]:
        assert name in known_names


def test_the_dashboard_queries_only_metrics_that_exist(known_names: set[str]) -> None:
    exprs = dashboard_exprs(json.loads(DASHBOARD.read_text()))
    used = {name for expr in exprs for name in metric_names(expr)}

    assert unknown_names(exprs, known_names) == set()
    assert {
        "exec_venue_up",
        "exec_reconciliation_breaks",
        "exec_submit_ack_latency_seconds_bucket",
    } <= used  # the reader found them


def test_the_alerts_query_only_metrics_that_exist(known_names: set[str]) -> None:
    exprs = alert_exprs(alert_rules().values())
    used = {name for expr in exprs for name in metric_names(expr)}

    assert unknown_names(exprs, known_names) == set()
    assert {"up", "exec_venue_up", "exec_reconciliation_breaks"} <= used


def test_a_made_up_name_in_a_copy_of_the_dashboard_is_caught(known_names: set[str]) -> None:
    dashboard = copy.deepcopy(json.loads(DASHBOARD.read_text()))
    dashboard["panels"][0]["targets"].append(
        {"refId": "Z", "expr": 'sum(rate(exec_orders_filled_total{venue="OKX"}[5m]))'}
    )
    dashboard["panels"][1]["targets"][0]["expr"] += " * exec_venue_upp"

    assert unknown_names(dashboard_exprs(dashboard), known_names) == {
        "exec_orders_filled_total",
        "exec_venue_upp",
    }


def test_a_made_up_name_in_a_copy_of_the_alerts_is_caught(known_names: set[str]) -> None:
    rules = copy.deepcopy(alert_rules())
    rules["VenueDown"]["expr"] = "exec_venues_up == 0"

    assert unknown_names(alert_exprs(rules.values()), known_names) == {"exec_venues_up"}


# --- Grafana --------------------------------------------------------------------------------


def test_the_dashboard_uses_the_provisioned_datasource_and_folder() -> None:
    [datasource] = yaml.safe_load(DATASOURCE.read_text())["datasources"]
    [provider] = yaml.safe_load(PROVIDER.read_text())["providers"]
    dashboard = json.loads(DASHBOARD.read_text())

    assert (datasource["type"], datasource["url"]) == ("prometheus", "http://prometheus:9090")
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"  # compose mounts it
    refs = [panel["datasource"] for panel in dashboard["panels"]] + [
        target["datasource"] for panel in dashboard["panels"] for target in panel["targets"]
    ]
    assert refs
    assert all(ref == {"type": "prometheus", "uid": datasource["uid"]} for ref in refs)


def test_the_dashboard_is_well_formed_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())

    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard["uid"] and dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"}, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]  # Grafana's grid is 24 wide
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert ref_ids and len(ref_ids) == len(set(ref_ids)), panel["title"]
        assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]


def test_the_dashboard_has_the_panels_operators_need() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    by_title = {
        panel["title"]: " ".join(t["expr"] for t in panel["targets"])
        for panel in dashboard["panels"]
    }

    def panel_using(*parts: str) -> bool:
        return any(all(part in exprs for part in parts) for exprs in by_title.values())

    assert panel_using("rate(exec_orders_submitted_total", "rate(exec_orders_accepted_total")
    assert panel_using("by (reason)", "exec_orders_rejected_total")
    assert panel_using(
        "histogram_quantile(0.5,",
        "histogram_quantile(0.99,",
        "exec_submit_ack_latency_seconds_bucket",
    )
    assert panel_using("by (venue)", "rate(exec_fills_total")
    assert panel_using("by (instrument)", "exec_exposure")
    assert panel_using("exec_venue_up")
    assert panel_using("exec_reconciliation_breaks")
    assert panel_using("time() -", "exec_daemon_heartbeat_timestamp_seconds")
