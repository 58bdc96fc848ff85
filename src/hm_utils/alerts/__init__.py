"""Alerting: 56 alerts declared in YAML (`alerts/<domain>/<id>.yml`) over the semantic layer, evaluated
with an Alertmanager-style lifecycle, delivered through real channels and deployed as Databricks SQL alerts.

- :mod:`hm_utils.alerts.definitions`: load and validate the YAML files;
- :mod:`hm_utils.alerts.lifecycle`: pending → firing → resolved, silences, inhibition, grouping (pure);
- :mod:`hm_utils.alerts.evaluation`: one evaluation cycle (queries, commit, outbox, delivery);
- :mod:`hm_utils.alerts.store`: state, history, outbox and silences in the ops schema;
- :mod:`hm_utils.alerts.channels`: email, Slack, Teams, webhook and PagerDuty formats and delivery;
- :mod:`hm_utils.alerts.deploy`: Databricks SQL Alerts v2 payloads and their deployment;
- :mod:`hm_utils.alerts.scoring`: recall and precision against the simulator's ground truth.
"""
