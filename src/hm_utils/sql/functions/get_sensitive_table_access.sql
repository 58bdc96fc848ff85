create or replace function {semantic}.get_sensitive_table_access(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all.',
  table_pattern string default {sensitive_table_regex} comment 'Java regular expression matched against catalog.schema.table names; the default comes from params semantic.sensitive_table_regex.',
  top_n int default 50 comment 'Number of table and user pairs returned (rank 1..top_n). Default 50.'
)
returns table (
  rank int comment 'Position by accesses, 1 = most accessed.',
  table_full_name string comment 'Sensitive table accessed (catalog.schema.table).',
  workspace_id string comment 'Workspace of the access.',
  workspace_name string comment 'Current workspace name.',
  user_email string comment 'Who accessed it.',
  accesses bigint comment 'Audit events touching the table (metadata reads, credential requests, grants, shares).',
  actions string comment 'Distinct actions, comma separated (getTable, generateTemporaryTableCredential, ...).',
  failed_accesses bigint comment 'Accesses that were denied (status >= 400).',
  off_hours_accesses bigint comment 'Accesses outside 07:00-19:00 UTC on weekdays or at weekends.',
  first_access timestamp comment 'First access in the period (UTC).',
  last_access timestamp comment 'Last access in the period (UTC).'
)
comment 'Who accessed sensitive tables (names matching a regular expression such as pii, customer, payment or finance) and how: per table and user the accesses, actions, denied and off-hours accesses. BEST FOR: "who read customer or payment tables this week?", "denied access to sensitive data", "off-hours access to PII". NOT FOR: downloads of query results (use get_download_activity), permission grants on tables (get_permission_changes), table freshness (get_table_freshness). Based on Unity Catalog audit events.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  access as (
    select e.securable_full_name as table_full_name, e.workspace_id as workspace_id, e.user_email as user_email,
      count(*) as accesses,
      array_join(array_sort(collect_set(e.action_name)), ',') as actions,
      count_if(e.is_failed) as failed_accesses,
      count_if(hour(e.event_time) < 7 or hour(e.event_time) >= 19 or dayofweek(e.event_time) in (1, 7)) as off_hours_accesses,
      min(e.event_time) as first_access,
      max(e.event_time) as last_access
    from {gold.fct_audit_events} as e
    left join ws as w on w.workspace_id = e.workspace_id and workspace is not null
    where e.event_date between start_date and end_date
      and e.securable_full_name is not null
      and e.securable_full_name rlike table_pattern
      and (workspace is null or e.workspace_id = workspace or w.workspace_name = workspace)
    group by e.securable_full_name, e.workspace_id, e.user_email
  ),
  ranked as (
    select a.*, row_number() over (order by a.accesses desc, a.table_full_name, a.user_email) as rank from access as a
  )
  select
    cast(r.rank as int) as rank,
    r.table_full_name as table_full_name,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.user_email as user_email,
    r.accesses as accesses,
    r.actions as actions,
    r.failed_accesses as failed_accesses,
    r.off_hours_accesses as off_hours_accesses,
    r.first_access as first_access,
    r.last_access as last_access
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  where r.rank <= top_n
  order by rank
