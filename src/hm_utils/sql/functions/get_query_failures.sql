create or replace function {semantic}.get_query_failures(
  start_date date default {today} - interval 7 days comment 'First UTC day included. Default: 7 days ago.',
  end_date date default {today} comment 'Last UTC day included. Default: today.',
  workspace string default null comment 'Workspace id or name to keep; NULL (default) = all workspaces.',
  top_n int default 20 comment 'Number of error groups returned (rank 1..top_n). Default 20.'
)
returns table (
  rank int comment 'Position by failures, 1 = most frequent error.',
  workspace_id string comment 'Workspace of the failures.',
  workspace_name string comment 'Current workspace name.',
  warehouse_id string comment 'SQL warehouse (NULL for other compute).',
  error_class string comment 'Error class in brackets at the start of the message (e.g. TABLE_OR_VIEW_NOT_FOUND), else the first 80 characters of the message.',
  failures bigint comment 'Failed statements with this error.',
  distinct_users bigint comment 'Distinct users who hit the error.',
  source_types string comment 'What issued the failing statements (JOB, DASHBOARD, ...), comma separated.',
  statements bigint comment 'All statements on the same warehouse and workspace in the period.',
  failure_rate double comment 'failures / statements on the warehouse (0..1).',
  first_failure timestamp comment 'First failure in the period (UTC).',
  last_failure timestamp comment 'Last failure in the period (UTC).',
  example_statement_id string comment 'One failing statement id to look at.',
  example_error_message string comment 'Its error message (first 300 characters).'
)
comment 'Failed SQL statements grouped by error class and warehouse: how often, for how many users, from which sources, and an example. BEST FOR: "why are queries failing?", "most common SQL errors this week", "which warehouse has the most failed queries?". NOT FOR: slow queries (use get_slowest_queries), job failures (get_failed_jobs), queueing (get_warehouse_queueing). Rows in rank order.'
return
  with ws as (
    select workspace_id, workspace_name from {gold.dim_workspace} where is_current
  ),
  statements as (
    select q.*,
      coalesce(nullif(regexp_extract(q.error_message, '\\[([A-Z0-9_.]+)\\]', 1), ''), left(coalesce(q.error_message, 'unknown error'), 80)) as error_class
    from {gold.fct_queries} as q
    left join ws as w on w.workspace_id = q.workspace_id and workspace is not null
    where q.query_date between start_date and end_date
      and (workspace is null or q.workspace_id = workspace or w.workspace_name = workspace)
  ),
  totals as (
    select workspace_id, warehouse_id, count(*) as statements from statements group by workspace_id, warehouse_id
  ),
  failures as (
    select workspace_id, warehouse_id, error_class, count(*) as failures,
      cast(size(collect_set(executed_by)) as bigint) as distinct_users,
      array_join(array_sort(collect_set(source_type)), ',') as source_types,
      min(start_time) as first_failure, max(start_time) as last_failure,
      min_by(statement_id, start_time) as example_statement_id,
      left(min_by(error_message, start_time), 300) as example_error_message
    from statements
    where is_failed
    group by workspace_id, warehouse_id, error_class
  ),
  ranked as (
    select f.*, t.statements as statements,
      row_number() over (order by f.failures desc, f.workspace_id, f.error_class) as rank
    from failures as f
    left join totals as t on t.workspace_id = f.workspace_id and t.warehouse_id <=> f.warehouse_id
  )
  select
    cast(r.rank as int) as rank,
    r.workspace_id as workspace_id,
    coalesce(w.workspace_name, r.workspace_id) as workspace_name,
    r.warehouse_id as warehouse_id,
    r.error_class as error_class,
    r.failures as failures,
    r.distinct_users as distinct_users,
    r.source_types as source_types,
    r.statements as statements,
    try_divide(cast(r.failures as double), cast(r.statements as double)) as failure_rate,
    r.first_failure as first_failure,
    r.last_failure as last_failure,
    r.example_statement_id as example_statement_id,
    r.example_error_message as example_error_message
  from ranked as r
  left join ws as w on w.workspace_id = r.workspace_id
  where r.rank <= top_n
  order by rank
