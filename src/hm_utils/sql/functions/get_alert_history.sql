create or replace function {semantic}.get_alert_history(
  start_date date default {today} - interval 30 days comment 'First UTC evaluation date included. Default: 30 days ago.',
  end_date date default {today} comment 'Last UTC evaluation date included. Default: today.',
  workspace string default null comment 'Workspace id (the workspace_id label) to keep; NULL (default) = all, including alerts without a workspace.',
  alert_filter string default null comment 'Alert id or part of it to keep, e.g. job_failure; NULL (default) = every alert.',
  new_state string default null comment 'Keep only changes to this state: pending, firing, resolved, inactive or error; NULL (default) = every change.'
)
returns table (
  evaluated_at timestamp comment 'Evaluation time of the change (UTC).',
  alert_id string comment 'Alert id (src/hm_utils/alerts/<domain>/<alert_id>.yml).',
  domain string comment 'cost, security, performance, reliability, quality or mlops.',
  severity string comment 'critical, warning or info.',
  from_state string comment 'State before the change (empty for an evaluation error).',
  to_state string comment 'State after: pending, firing, resolved, inactive, or error when the alert query failed.',
  summary string comment 'One-line description of the alert instance, or the error message.',
  workspace_id string comment 'workspace_id label of the instance (NULL when the alert has none).',
  entity string comment 'The other labels of the instance, e.g. job_id=123, user_email=a@b.com.',
  value string comment 'Evaluated value of the alert column at the change.',
  threshold string comment 'Threshold it was compared with.',
  muted boolean comment 'True when a silence or an inhibition muted the instance (no notification).',
  currently string comment 'Current state of the instance: pending, firing, resolved, or gone (no longer tracked).',
  fingerprint string comment 'Instance id: hash of the alert id and its labels.'
)
comment 'History of the health monitor\'s own alerts: every time an alert instance became pending, started firing, resolved or failed to evaluate, with its labels, value and whether it was muted, plus its current state. BEST FOR: "what alerts fired this week?", "which security alerts fired for workspace X?", "is the failed-job alert still firing?", "which alerts errored?". NOT FOR: the underlying incidents themselves (use the function named in the alert runbook, e.g. get_failed_jobs), notifications and their delivery. Newest first.'
return
  with events as (
    select e.evaluated_at as evaluated_at, e.alert_id as alert_id, e.domain as domain, e.severity as severity,
      e.from_state as from_state, e.to_state as to_state, e.summary as summary, e.value as value, e.threshold as threshold,
      e.muted as muted, e.fingerprint as fingerprint, from_json(e.labels, 'map<string,string>') as labels
    from {ops.alert_events} as e
    where cast(e.evaluated_at as date) between start_date and end_date
      and (alert_filter is null or contains(e.alert_id, alert_filter))
      and (new_state is null or e.to_state = new_state)
  ),
  current as (
    select fingerprint, state from {ops.alert_state} where scope = 'instance'
  )
  -- one partition before the sort: a sort over several would first rerun the query to sample its ranges
  select /*+ REPARTITION(1) */ ev.evaluated_at, ev.alert_id, ev.domain, ev.severity, ev.from_state, ev.to_state, ev.summary,
    ev.labels['workspace_id'] as workspace_id,
    array_join(transform(array_sort(map_keys(map_filter(ev.labels, (k, v) -> k <> 'workspace_id'))), k -> concat(k, '=', ev.labels[k])), ', ') as entity,
    ev.value, ev.threshold, ev.muted,
    coalesce(c.state, case when ev.to_state = 'error' then 'error' else 'gone' end) as currently,
    ev.fingerprint
  from events as ev
  left join current as c on c.fingerprint = ev.fingerprint
  where workspace is null or ev.labels['workspace_id'] = workspace
  order by ev.evaluated_at desc, ev.alert_id, ev.fingerprint
