create or replace function {semantic}.get_incident_timeline(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep (0 = account level); NULL (default) = all.'
)
returns table (
  event_time timestamp comment 'When the incident event happened or started (UTC).',
  workspace_id string comment 'Workspace (0 = account level).',
  workspace_name string comment 'Current workspace name.',
  category string comment 'job_failure, pipeline_failure, failed_login_burst, admin_change, download_burst or warehouse_queueing.',
  severity string comment 'high or medium.',
  entity_type string comment 'JOB, PIPELINE, USER or WAREHOUSE.',
  entity_id string comment 'Id of the entity (job id, pipeline id, user email, warehouse id).',
  entity_name string comment 'Readable name (job or pipeline name, user, warehouse name).',
  description string comment 'What happened, in one sentence.',
  next_step string comment 'The function to call for detail.'
)
comment 'A single time-ordered list of notable events across domains: job and pipeline failures, bursts of failed logins (5+ per user and hour), admin changes, download bursts (20+ per user and hour) and warehouse queueing hours (statements waiting over a minute at capacity). BEST FOR: "what happened last night?", "timeline of incidents this week", "what went wrong around the time x broke?". NOT FOR: counts or rankings (use get_failed_jobs, get_failed_logins, get_warehouse_queueing ...), cost spikes (get_cost_anomalies). Newest first.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  job_failures as (
    select r.start_time as event_time, r.workspace_id as workspace_id, 'job_failure' as category,
      case when r.termination_type in ('INTERNAL_ERROR', 'CLOUD_FAILURE') then 'high' else 'medium' end as severity,
      'JOB' as entity_type, r.job_id as entity_id, coalesce(j.job_name, r.run_name) as entity_name,
      concat('Run ', r.run_id, ' ended ', coalesce(r.result_state, '?'), ' with ', coalesce(r.termination_code, 'no code'),
        ' after ', cast(round(r.duration_seconds / 60.0, 1) as string), ' min') as description,
      'get_failed_jobs' as next_step
    from {gold.fct_job_runs} as r
    left join {gold.dim_job} as j on j.workspace_id = r.workspace_id and j.job_id = r.job_id and j.is_current
    where r.run_date between start_date and end_date and r.is_failure
  ),
  pipeline_failures as (
    select u.start_time, u.workspace_id, 'pipeline_failure', 'medium', 'PIPELINE', u.pipeline_id, d.pipeline_name,
      concat('Update ', u.update_id, ' FAILED after ', cast(round(u.duration_seconds / 60.0, 1) as string), ' min'),
      'get_pipeline_health'
    from {gold.fct_pipeline_updates} as u
    left join {gold.dim_pipeline} as d on d.workspace_id = u.workspace_id and d.pipeline_id = u.pipeline_id and d.is_current
    where u.update_date between start_date and end_date and u.is_failure
  ),
  audit_hours as (
    select e.workspace_id as workspace_id, e.user_email as user_email,
      count_if(e.is_failed_login) as failed_logins, min(case when e.is_failed_login then e.event_time end) as first_failed_login,
      size(collect_set(case when e.is_failed_login then e.source_ip_address end)) as login_ips,
      count_if(e.is_download) as downloads, min(case when e.is_download then e.event_time end) as first_download
    from {gold.fct_audit_events} as e
    where e.event_date between start_date and end_date and (e.is_failed_login or e.is_download)
    group by e.workspace_id, e.user_email, date_trunc('HOUR', e.event_time)
  ),
  bursts as (
    -- failed-login and download bursts come from one pass over the audit hours, up to two rows per user-hour
    select stack(2,
      h.first_failed_login, h.workspace_id, 'failed_login_burst', 'high', 'USER', h.user_email, h.user_email,
      concat(cast(h.failed_logins as string), ' failed logins within the hour from ', cast(h.login_ips as string),
        ' IP address(es)'),
      'get_failed_logins', h.failed_logins >= 5,
      h.first_download, h.workspace_id, 'download_burst', 'high', 'USER', h.user_email, h.user_email,
      concat(cast(h.downloads as string), ' downloads or exports within the hour'),
      'get_download_activity', h.downloads >= 20
    ) as (event_time, workspace_id, category, severity, entity_type, entity_id, entity_name, description, next_step, is_burst)
    from audit_hours as h
  ),
  admin_changes as (
    select e.event_time, e.workspace_id, 'admin_change', 'high', 'USER',
      coalesce(try_element_at(e.request_params, 'targetUserName'), e.user_email), e.user_email,
      concat(e.user_email, ' did ', e.action_name,
        coalesce(concat(' on ', try_element_at(e.request_params, 'targetUserName')), ''),
        coalesce(concat(' (group ', try_element_at(e.request_params, 'targetGroupName'), ')'), '')),
      'get_permission_changes'
    from {gold.fct_audit_events} as e
    where e.event_date between start_date and end_date and e.is_admin_change
  ),
  queueing_hours as (
    -- counted before the warehouse name is joined: numbers alone aggregate in a hash table, no sort
    select date_trunc('HOUR', q.start_time) as hour_start, q.workspace_id as workspace_id, q.warehouse_id as warehouse_id,
      count(*) as statements, max(q.waiting_at_capacity_ms) as max_wait_ms
    from {gold.fct_queries} as q
    where q.query_date between start_date and end_date and q.waiting_at_capacity_ms >= 60000
    group by q.workspace_id, q.warehouse_id, date_trunc('HOUR', q.start_time)
  ),
  queueing as (
    select g.hour_start, g.workspace_id, 'warehouse_queueing', 'medium', 'WAREHOUSE', g.warehouse_id, h.warehouse_name,
      concat(cast(g.statements as string), ' statements waited over a minute at capacity (max ',
        cast(round(g.max_wait_ms / 1000.0) as string), ' s)'),
      'get_warehouse_queueing'
    from queueing_hours as g
    left join {gold.dim_warehouse} as h on h.workspace_id = g.workspace_id and h.warehouse_id = g.warehouse_id and h.is_current
  ),
  timeline as (
    select * from job_failures
    union all select * from pipeline_failures
    union all select event_time, workspace_id, category, severity, entity_type, entity_id, entity_name, description, next_step
      from bursts where is_burst
    union all select * from admin_changes
    union all select * from queueing
  )
  -- one partition before the sort: a sort over several would first rerun the query to sample its ranges
  select /*+ REPARTITION(1) */
    t.event_time as event_time,
    t.workspace_id as workspace_id,
    coalesce(w.workspace_name, t.workspace_id) as workspace_name,
    t.category as category,
    t.severity as severity,
    t.entity_type as entity_type,
    t.entity_id as entity_id,
    t.entity_name as entity_name,
    t.description as description,
    t.next_step as next_step
  from timeline as t
  left join ws as w on w.workspace_id = t.workspace_id
  where workspace is null or t.workspace_id = workspace or w.workspace_name = workspace
  order by event_time desc
